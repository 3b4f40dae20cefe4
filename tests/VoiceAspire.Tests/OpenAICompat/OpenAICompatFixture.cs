using System.ClientModel;
using OpenAI;
using OpenAI.Audio;
using VoiceAspire.Inference.Engines.PocketSphinx;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.OpenAICompat;

/// <summary>
/// A real Inference + Api pair with the OpenAI edge locked by a key and PocketSphinx as the default
/// engine, plus jfk.wav's text from PocketSphinx run directly (what the Api must return).
/// </summary>
public sealed class OpenAICompatFixture : IAsyncLifetime
{
    public const string ApiKey = "test-key-123";
    public const long MaxUploadBytes = 6 * 1024 * 1024; // above jfk.wav as 48 kHz stereo float (4.2 MB)

    public ApiStack Stack { get; private set; } = null!;

    public string JfkPath { get; } = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File;

    public double JfkSeconds { get; private set; }

    public string DirectText { get; private set; } = "";

    public Uri V1 => new(Stack.Api.BaseAddress, "/v1/");

    public async Task InitializeAsync()
    {
        var audio = SharedData.ReadMono16k(JfkPath);
        JfkSeconds = audio.Length / 16000.0;
        using (var engine = PocketSphinxEngine.Load(new() { PoolSize = 1, WarmupDecoders = 1 }))
            DirectText = Recognition.FinalText(Recognition.Direct(engine, audio));
        Stack = await ApiStack.StartAsync(new Dictionary<string, string>
        {
            ["Api__DefaultEngine"] = "pocketsphinx",
            ["Api__OpenAICompat__ApiKey"] = ApiKey,
            ["Api__OpenAICompat__Models__fast"] = "pocketsphinx",
            ["Api__OpenAICompat__MaxUploadBytes"] = MaxUploadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public AudioClient Client(string model = "whisper-1", string key = ApiKey) =>
        new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = V1, NetworkTimeout = TimeSpan.FromSeconds(60) }).GetAudioClient(model);

    public HttpClient Http(string? key = ApiKey)
    {
        var http = new HttpClient { BaseAddress = V1, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null) http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return http;
    }

    public async Task DisposeAsync() => await Stack.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class OpenAICompatCollection : ICollectionFixture<OpenAICompatFixture>
{
    public const string Name = "openai compat stack";
}
