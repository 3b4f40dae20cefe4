using VoiceAspire.Inference.Onnx;

namespace VoiceAspire.Inference.Engines.SherpaOnnx;

/// <summary>
/// Checks a model directory before sherpa-onnx loads it: sherpa calls exit() on a model file of
/// the wrong kind (a missing metadata key, an unexpected signature), which no .NET handler can
/// catch. We open each ONNX file with our own ONNX Runtime binding and check what sherpa's
/// streaming transducer will read: the encoder's model_type and streaming keys, the decoder's
/// context_size/vocab_size, the joiner's inputs and output, and tokens.txt agreeing with them.
/// Throws <see cref="EngineException"/> (MODEL_INVALID) naming the file and what is wrong.
/// </summary>
public static class SherpaModelValidator
{
    /// <summary>Encoder families sherpa-onnx 1.13's streaming transducer accepts.</summary>
    private static readonly HashSet<string> StreamingEncoderTypes = ["zipformer", "zipformer2", "conformer", "lstm"];

    public static void Validate(SherpaModelDirectory model)
    {
        var tokens = ReadTokens(model.Tokens);
        if (tokens < 2) Invalid(model.Tokens, $"has {tokens} tokens.");

        var encoder = Read(model.Encoder);
        var modelType = encoder.CustomMetadata.GetValueOrDefault("model_type");
        if (string.IsNullOrEmpty(modelType))
            Invalid(model.Encoder, "has no 'model_type' metadata: it is not a sherpa-onnx transducer encoder.");
        if (!StreamingEncoderTypes.Contains(modelType!))
            Invalid(model.Encoder, $"is a '{modelType}' encoder; the streaming recognizer takes {string.Join(", ", StreamingEncoderTypes)}.");
        foreach (var key in new[] { "T", "decode_chunk_len" })
            if (!encoder.CustomMetadata.ContainsKey(key))
                Invalid(model.Encoder, $"lacks the '{key}' metadata of a streaming encoder (is it a non-streaming model?).");
        if (!encoder.OutputNames.Contains("encoder_out"))
            Invalid(model.Encoder, "has no 'encoder_out' output.");

        var decoder = Read(model.Decoder);
        if (!decoder.CustomMetadata.TryGetValue("context_size", out var contextSize) || !int.TryParse(contextSize, out _))
            Invalid(model.Decoder, "has no 'context_size' metadata: it is not a transducer decoder.");
        if (!decoder.CustomMetadata.TryGetValue("vocab_size", out var vocabText) || !int.TryParse(vocabText, out var vocab))
            Invalid(model.Decoder, "has no 'vocab_size' metadata: it is not a transducer decoder.");
        else if (vocab > tokens) // tokens.txt may list more symbols than the model emits (the shared kws model: 227 for 197)
            Invalid(model.Decoder, $"emits {vocab} token ids but tokens.txt has only {tokens}: they are from different models.");

        var joiner = Read(model.Joiner);
        if (!joiner.InputNames.Contains("encoder_out") || !joiner.InputNames.Contains("decoder_out"))
            Invalid(model.Joiner, $"takes ({string.Join(", ", joiner.InputNames)}), not (encoder_out, decoder_out): it is not a transducer joiner.");
    }

    private static OnnxModelInfo Read(string path)
    {
        try
        {
            return OnnxModelInfo.Read(path);
        }
        catch (OnnxRuntimeException e) when (e.ErrorCode == OrtErrorCode.RuntimeUnavailable)
        {
            throw new EngineException(EngineErrorCodes.ModelUnavailable, $"ONNX Runtime is not available: {e.Message}",
                "Run `bash scripts/fetch-natives.sh` and rebuild.", e);
        }
        catch (OnnxRuntimeException e)
        {
            throw new EngineException(EngineErrorCodes.ModelInvalid, $"{path} is not a loadable ONNX model: {e.Message}", null, e);
        }
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
                Invalid(path, $"line {lineNumber}: expected '<symbol> <id>', got '{Truncate(line)}'.");
            else if (!ids.Add(id))
                Invalid(path, $"line {lineNumber}: token id {id} appears twice.");
        }
        if (ids.Count > 0 && ids.Max() != ids.Count - 1)
            Invalid(path, $"token ids are not 0..{ids.Count - 1}.");
        return ids.Count;
    }

    private static void Invalid(string file, string why) =>
        throw new EngineException(EngineErrorCodes.ModelInvalid, $"Model file {file} {why}",
            "Use a streaming transducer model directory from https://github.com/k2-fsa/sherpa-onnx/releases/tag/asr-models, unchanged.");

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "…";
}
