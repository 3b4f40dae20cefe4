namespace VoiceAspire.Inference.Engines.SherpaOnnx;

/// <summary>
/// Checks a model directory before sherpa-onnx loads it: sherpa calls exit() on some bad models,
/// which no .NET handler can catch. Throws <see cref="EngineException"/> (MODEL_INVALID) with
/// what is wrong.
/// </summary>
public static class SherpaModelValidator
{
    public static void Validate(SherpaModelDirectory model)
    {
        var vocabulary = ReadTokens(model.Tokens);
        if (vocabulary < 2) Invalid(model, $"tokens.txt has {vocabulary} tokens.");
    }

    /// <summary>Counts the tokens in tokens.txt ("&lt;symbol&gt; &lt;id&gt;" per line, ids 0..N-1).</summary>
    internal static int ReadTokens(string path)
    {
        var ids = new HashSet<int>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            var space = line.LastIndexOf(' ');
            if (space < 0 || !int.TryParse(line.AsSpan(space + 1), out var id) || id < 0)
                throw new EngineException(EngineErrorCodes.ModelInvalid, $"{path}:{lineNumber}: expected '<symbol> <id>', got '{Truncate(line)}'.");
            if (!ids.Add(id))
                throw new EngineException(EngineErrorCodes.ModelInvalid, $"{path}:{lineNumber}: token id {id} appears twice.");
        }
        if (ids.Count > 0 && ids.Max() != ids.Count - 1)
            throw new EngineException(EngineErrorCodes.ModelInvalid, $"{path}: token ids are not 0..{ids.Count - 1}.");
        return ids.Count;
    }

    private static void Invalid(SherpaModelDirectory model, string why) =>
        throw new EngineException(EngineErrorCodes.ModelInvalid, $"sherpa-onnx model '{model.Directory}' is not usable: {why}");

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "…";
}
