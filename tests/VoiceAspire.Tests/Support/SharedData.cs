using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Tests.Support;

/// <summary>
/// Locates ../shared (beside the checkout): real models and real English speech. Tests read it in
/// place; nothing from it is copied into the repo.
/// </summary>
public static class SharedData
{
    public static string Root { get; } = Locate();

    public static string AudioDir => Path.Combine(Root, "audio", "en");

    public static string ZhModelDir => Path.Combine(Root, "models", "sherpa-onnx-kws-zipformer-wenetspeech-3.3M-2024-01-01-mobile");

    /// <summary>The English clips with their lower-case reference transcripts.</summary>
    public static IReadOnlyList<(string File, string Reference)> Transcripts { get; } =
        File.ReadAllLines(Path.Combine(AudioDir, "transcripts.tsv"))
            .Where(l => l.Contains('\t'))
            .Select(l => l.Split('\t', 2))
            .Select(p => (Path.Combine(AudioDir, p[0]), p[1].Trim()))
            .ToArray();

    /// <summary>A 16 kHz mono clip as floats.</summary>
    public static float[] ReadMono16k(string path)
    {
        var wav = WavFile.Read(path);
        if (wav.SampleRate != 16_000 || wav.Channels != 1)
            throw new InvalidOperationException($"{path}: expected 16 kHz mono, got {wav.SampleRate} Hz x{wav.Channels}.");
        return wav.Samples;
    }

    private static string Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("VOICEASPIRE_SHARED");
        if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "audio")) && Directory.Exists(Path.Combine(candidate, "models")))
                return candidate;
        }
        throw new DirectoryNotFoundException("../shared (models and audio) not found beside the checkout; set VOICEASPIRE_SHARED.");
    }
}
