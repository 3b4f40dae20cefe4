using VoiceAspire.Inference.Engines;
using VoiceAspire.Inference.Engines.PocketSphinx;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.PocketSphinx;

/// <summary>Bad models and bad options fail with typed, readable errors; the process keeps running.</summary>
[Collection(PocketSphinxCollection.Name)]
public sealed class PocketSphinxModelAndOptionsTests(PocketSphinxFixture fixture, ITestOutputHelper output) : IDisposable
{
    private const string RealModel = PocketSphinxOptions.DefaultModelDir;
    private readonly string _temp = Directory.CreateTempSubdirectory("pocketsphinx-test-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private EngineException LoadFails(PocketSphinxOptions options)
    {
        var error = Assert.Throws<EngineException>(() => PocketSphinxEngine.Load(options).Dispose());
        output.WriteLine($"{error.Code}: {error.Message} | hint: {error.Hint}");
        return error;
    }

    /// <summary>After every failure the shared engine still decodes: nothing native was left broken.</summary>
    private void EngineStillWorks()
    {
        using var stream = fixture.Engine.CreateStream();
        var events = PocketSphinxFixture.Feed(stream, new float[8000]);
        Assert.Equal(RecognitionEventKind.Endpoint, Assert.Single(events).Kind);
    }

    [Fact]
    public void Provider_offers_pocketsphinx_en_us_when_installed()
    {
        var provider = new PocketSphinxEngineProvider(new PocketSphinxOptions { WarmupDecoders = 0 });
        var descriptor = Assert.Single(provider.Describe());
        output.WriteLine(descriptor.ToString());
        Assert.Equal(new EngineDescriptor("pocketsphinx:en-us", "pocketsphinx", "asr", "en-US", true, descriptor.Detail), descriptor);

        using var engine = provider.Load("pocketsphinx:en-us");
        Assert.Equal("pocketsphinx:en-us", engine.Id);
        Assert.IsType<PocketSphinxEngine>(engine);

        var unknown = Assert.Throws<EngineException>(() => provider.Load("pocketsphinx:fr-fr"));
        Assert.Equal(EngineErrorCodes.ModelUnavailable, unknown.Code);
    }

    [Fact]
    public void Missing_model_dir_is_unavailable_with_an_install_hint()
    {
        var options = new PocketSphinxOptions { ModelDir = Path.Combine(_temp, "nowhere") };
        var provider = new PocketSphinxEngineProvider(options);

        var descriptor = Assert.Single(provider.Describe());
        output.WriteLine(descriptor.ToString());
        Assert.False(descriptor.Available);
        Assert.Equal("sudo apt-get install libpocketsphinx3 pocketsphinx-en-us (or bash scripts/setup.sh)", descriptor.InstallHint);
        Assert.Contains("nowhere", descriptor.Detail);

        var error = Assert.Throws<EngineException>(() => provider.Load("pocketsphinx:en-us"));
        Assert.Equal(EngineErrorCodes.ModelUnavailable, error.Code);
        Assert.Contains("not found", error.Message);
        Assert.Equal(descriptor.InstallHint, error.Hint);
        EngineStillWorks();
    }

    [Fact]
    public void Garbage_acoustic_model_is_invalid_and_never_reaches_the_native_loader()
    {
        // A wrong mdef header makes SphinxBase call exit(1) (measured): this must be caught before ps_init.
        var dir = Path.Combine(_temp, "model");
        var hmm = Path.Combine(dir, "en-us");
        Directory.CreateDirectory(hmm);
        var random = new Random(7);
        foreach (var name in new[] { "mdef", "means", "variances", "transition_matrices", "sendump" })
        {
            var bytes = new byte[1000];
            random.NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(hmm, name), bytes);
        }
        File.Copy(Path.Combine(RealModel, "en-us", "noisedict"), Path.Combine(hmm, "noisedict"));
        File.WriteAllText(Path.Combine(dir, "en-us.lm.bin"), "not a language model");
        File.WriteAllText(Path.Combine(dir, "cmudict-en-us.dict"), "hello HH AH L OW\n");

        var error = LoadFails(new PocketSphinxOptions { ModelDir = dir });
        Assert.Equal(EngineErrorCodes.ModelInvalid, error.Code);
        Assert.Contains("mdef", error.Message);
        Assert.Contains("means", error.Message);

        var descriptor = Assert.Single(new PocketSphinxEngineProvider(new PocketSphinxOptions { ModelDir = dir }).Describe());
        Assert.False(descriptor.Available);
        EngineStillWorks();
    }

    [Fact]
    public void Binary_file_as_dictionary_is_invalid()
    {
        var error = LoadFails(new PocketSphinxOptions { DictionaryFile = Path.Combine(RealModel, "en-us.lm.bin") });
        Assert.Equal(EngineErrorCodes.ModelInvalid, error.Code);
        Assert.Contains("dictionary", error.Message);
    }

    [Fact]
    public void Corrupt_language_model_makes_ps_init_fail_cleanly()
    {
        // Headers pass, PocketSphinx itself rejects the file: ps_init returns NULL.
        var lm = Path.Combine(_temp, "broken.lm.bin");
        File.WriteAllText(lm, "this is not an n-gram model\n");
        var error = LoadFails(new PocketSphinxOptions { LanguageModelFile = lm });
        Assert.Equal(EngineErrorCodes.ModelInvalid, error.Code);
        Assert.Contains("ps_init", error.Message);
        EngineStillWorks();
    }

    [Fact]
    public void Unknown_decoder_arguments_and_mistyped_values_are_rejected_by_name()
    {
        var error = LoadFails(new PocketSphinxOptions
        {
            DecoderArgs = { ["-no_such_option"] = "1", ["-maxhmmpf"] = "lots", ["-vad_threshold"] = "high", ["-bestpath"] = "maybe", ["-ds"] = "2" },
        });
        Assert.Equal(EngineErrorCodes.ModelInvalid, error.Code);
        Assert.Contains("unknown argument -no_such_option", error.Message);
        Assert.Contains("-maxhmmpf needs an integer (got 'lots')", error.Message);
        Assert.Contains("-vad_threshold needs a number (got 'high')", error.Message);
        Assert.Contains("-bestpath needs yes or no (got 'maybe')", error.Message);
        Assert.DoesNotContain("-ds", error.Message);
    }

    [Fact]
    public void Narrow_beam_arguments_reach_the_decoder()
    {
        // Parsed by cmd_ln_parse_r and used by ps_init (one decoder, created on the first stream).
        using var engine = PocketSphinxEngine.Load(new PocketSphinxOptions
        {
            WarmupDecoders = 0, PoolSize = 1, MaxDecoders = 1, DecoderArgs = { ["-maxhmmpf"] = "3000", ["-ds"] = "2" },
        });
        Assert.Equal(0, engine.PoolStatistics.Created);
        using var stream = engine.CreateStream();
        var events = PocketSphinxFixture.Feed(stream, new float[4000]);
        Assert.Equal(RecognitionEventKind.Endpoint, Assert.Single(events).Kind);
        Assert.Equal(1, engine.PoolStatistics.Created);
    }

    [Fact]
    public void Default_options_are_valid_and_derive_the_model_paths()
    {
        var options = new PocketSphinxOptions { DecoderArgs = { ["-maxhmmpf"] = "3000", ["-ds"] = "2" } };
        Assert.True(new PocketSphinxOptionsValidator().Validate(options).IsValid);
        Assert.Equal("/usr/share/pocketsphinx/model/en-us/en-us", options.HmmPath);
        Assert.Equal("/usr/share/pocketsphinx/model/en-us/en-us.lm.bin", options.LmPath);
        Assert.Equal("/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict", options.DictPath);
        Assert.Equal(4, options.PoolSize);
        Assert.Equal(16, options.MaxDecoders);
    }

    [Fact]
    public void Bad_options_fail_validation_with_clear_messages()
    {
        var options = new PocketSphinxOptions
        {
            ModelDir = "",
            PoolSize = 20,
            MaxDecoders = 8,
            WarmupDecoders = 30,
            PartialIntervalMs = 10,
            AcquireTimeout = TimeSpan.FromSeconds(-1),
            DecoderArgs = { ["-lm"] = "/tmp/other.lm", ["maxhmmpf"] = "3000" },
        };
        var result = new PocketSphinxOptionsValidator().Validate(options);
        foreach (var failure in result.Errors) output.WriteLine($"{failure.PropertyName}: {failure.ErrorMessage}");

        Assert.False(result.IsValid);
        var messages = result.Errors.Select(e => e.ErrorMessage).ToArray();
        Assert.Contains(messages, m => m.Contains("ModelDir must be set"));
        Assert.Contains(messages, m => m.Contains("PoolSize (20) must not exceed MaxDecoders (8)"));
        Assert.Contains(messages, m => m.Contains("WarmupDecoders (30) must not exceed PoolSize (20)"));
        Assert.Contains(messages, m => m.Contains("PartialIntervalMs must be between 50 and 10000 ms (was 10)"));
        Assert.Contains(messages, m => m.Contains("AcquireTimeout"));
        Assert.Contains(messages, m => m.Contains("'-lm' is set by the engine"));
        Assert.Contains(messages, m => m.Contains("'maxhmmpf' must look like '-name'"));

        var error = LoadFails(options);
        Assert.Equal(EngineErrorCodes.ModelInvalid, error.Code);
        Assert.Contains("PoolSize (20) must not exceed MaxDecoders (8)", error.Message);

        var descriptor = Assert.Single(new PocketSphinxEngineProvider(options).Describe());
        Assert.False(descriptor.Available);
        Assert.Contains("Invalid PocketSphinx options", descriptor.Detail);
    }

    [Theory]
    [InlineData("<s> hello(2) [NOISE] world </s> <sil>", "hello world")]
    [InlineData("++NOISE++ read(3) it [SPEECH]", "read it")]
    [InlineData("<sil>", "")]
    [InlineData(null, "")]
    [InlineData("mr  john's   dog(12)", "mr john's dog")]
    public void Hypothesis_text_drops_fillers_and_pronunciation_markers(string? raw, string expected) =>
        Assert.Equal(expected, SphinxText.Clean(raw));
}
