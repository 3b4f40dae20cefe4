namespace VoiceAspire.Inference.Engines.SherpaOnnx;

/// <summary>
/// The files of one streaming transducer model directory (icefall/sherpa-onnx layout:
/// encoder*.onnx, decoder*.onnx, joiner*.onnx, tokens.txt). Int8 weights win where both exist.
/// </summary>
public sealed record SherpaModelDirectory(string Name, string Directory, string Encoder, string Decoder, string Joiner, string Tokens)
{
    public string Id => $"sherpa-onnx:{Name}";

    /// <summary>A language guess from the directory name (sherpa-onnx's release names carry it).</summary>
    public string Language
    {
        get
        {
            var n = Name.ToLowerInvariant();
            var zh = n.Contains("-zh") || n.Contains("wenetspeech") || n.Contains("chinese") || n.Contains("bilingual");
            var en = n.Contains("-en") || n.Contains("librispeech") || n.Contains("gigaspeech") || n.Contains("bilingual");
            return (zh, en) switch { (true, true) => "zh,en", (true, false) => "zh", (false, true) => "en", _ => "und" };
        }
    }

    /// <summary>Finds the model files in <paramref name="dir"/>; null when it does not look like a transducer model.</summary>
    public static SherpaModelDirectory? TryFind(string dir)
    {
        if (!System.IO.Directory.Exists(dir)) return null;
        var tokens = Path.Combine(dir, "tokens.txt");
        var encoder = Pick(dir, "encoder");
        var decoder = Pick(dir, "decoder");
        var joiner = Pick(dir, "joiner");
        if (!File.Exists(tokens) || encoder is null || decoder is null || joiner is null) return null;
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
        return new SherpaModelDirectory(name, Path.GetFullPath(dir), encoder, decoder, joiner, tokens);
    }

    /// <summary>What is missing, for an error message.</summary>
    public static string DescribeMissing(string dir)
    {
        if (!System.IO.Directory.Exists(dir)) return $"directory '{dir}' does not exist";
        var missing = new List<string>();
        if (!File.Exists(Path.Combine(dir, "tokens.txt"))) missing.Add("tokens.txt");
        foreach (var part in new[] { "encoder", "decoder", "joiner" })
            if (Pick(dir, part) is null) missing.Add($"{part}*.onnx");
        return missing.Count == 0 ? "nothing missing" : $"'{dir}' lacks {string.Join(", ", missing)}";
    }

    private static string? Pick(string dir, string part)
    {
        var files = System.IO.Directory.GetFiles(dir, $"{part}*.onnx").Order(StringComparer.Ordinal).ToArray();
        return files.FirstOrDefault(f => f.EndsWith(".int8.onnx", StringComparison.Ordinal)) ?? files.FirstOrDefault();
    }
}
