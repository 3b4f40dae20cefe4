using System.Text;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>
/// Checks a model before <c>ps_init</c> sees it. Needed for safety, not only for nicer messages:
/// measured on this machine, an acoustic model file with a wrong header makes SphinxBase call
/// <c>E_FATAL</c> → <c>exit(1)</c>, which would end the whole .NET process. Missing files and bad
/// language models make <c>ps_init</c> return NULL (safe). These checks look at presence and headers
/// only; a model that is structurally valid but inconsistent may still be rejected (NULL) or, in the
/// worst case, fatal inside the native library.
/// </summary>
internal static class SphinxModelFiles
{
    public const string InstallHint = "sudo apt-get install libpocketsphinx3 pocketsphinx-en-us (or bash scripts/setup.sh)";

    /// <summary>Acoustic-model files that must be present (sendump or mixture_weights is checked separately).</summary>
    private static readonly string[] RequiredHmmFiles = ["mdef", "means", "variances", "transition_matrices", "noisedict"];

    /// <summary>SphinxTrain "s3" binary parameter files: "s3\n" header lines ... "endhdr\n".</summary>
    private static readonly string[] S3BinaryFiles = ["means", "variances", "transition_matrices", "mixture_weights"];

    /// <summary>Null when the files are present and plausible; otherwise the failure (code + message).</summary>
    public static EngineException? Check(PocketSphinxOptions options)
    {
        var hmm = options.HmmPath;
        var missing = new List<string>();
        if (!Directory.Exists(hmm))
            missing.Add(hmm + "/");
        else
        {
            missing.AddRange(RequiredHmmFiles.Select(f => Path.Combine(hmm, f)).Where(p => !File.Exists(p)));
            if (!File.Exists(Path.Combine(hmm, "sendump")) && !File.Exists(Path.Combine(hmm, "mixture_weights")))
                missing.Add(Path.Combine(hmm, "sendump") + " (or mixture_weights)");
        }
        if (!File.Exists(options.LmPath)) missing.Add(options.LmPath);
        if (!File.Exists(options.DictPath)) missing.Add(options.DictPath);
        if (missing.Count > 0)
            return new EngineException(EngineErrorCodes.ModelUnavailable,
                $"PocketSphinx model not found: missing {string.Join(", ", missing)}.", InstallHint);

        var problems = new List<string>();
        try
        {
            var mdef = Path.Combine(hmm, "mdef");
            var head = ReadHead(mdef, 64);
            // Binary model definition starts with "BMDF", the text form with its version line "0.3".
            if (!(StartsWith(head, "BMDF"u8) || StartsWith(head, "0.3"u8)))
                problems.Add($"{mdef} is not a PocketSphinx model definition (expected a BMDF or 0.3 header)");

            foreach (var name in S3BinaryFiles)
            {
                var path = Path.Combine(hmm, name);
                if (!File.Exists(path)) continue;
                var bytes = ReadHead(path, 4096);
                if (!StartsWith(bytes, "s3\n"u8) || bytes.AsSpan().IndexOf("endhdr\n"u8) < 0)
                    problems.Add($"{path} is not a SphinxTrain s3 parameter file (expected an 's3 ... endhdr' header)");
            }

            var sendump = Path.Combine(hmm, "sendump");
            if (File.Exists(sendump))
            {
                // int32 length, then the "BEGIN FILE FORMAT DESCRIPTION" title string.
                var bytes = ReadHead(sendump, 64);
                if (bytes.Length < 8 || bytes.AsSpan(4).IndexOf("BEGIN FILE FORMAT"u8) != 0)
                    problems.Add($"{sendump} is not a PocketSphinx sendump file");
            }

            CheckText(Path.Combine(hmm, "noisedict"), problems);
            CheckText(options.DictPath, problems);
            if (new FileInfo(options.LmPath).Length == 0)
                problems.Add($"{options.LmPath} is empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new EngineException(EngineErrorCodes.ModelUnavailable,
                $"PocketSphinx model files cannot be read: {e.Message}", InstallHint, e);
        }

        return problems.Count == 0
            ? null
            : new EngineException(EngineErrorCodes.ModelInvalid,
                $"PocketSphinx model is invalid: {string.Join("; ", problems)}.", InstallHint);
    }

    /// <summary>A pronunciation dictionary / noise dictionary: text lines "WORD PH1 PH2 ...".</summary>
    private static void CheckText(string path, List<string> problems)
    {
        var bytes = ReadHead(path, 4096);
        if (bytes.AsSpan().IndexOf((byte)0) >= 0)
        {
            problems.Add($"{path} is not a text dictionary (binary data)");
            return;
        }
        var firstLine = Encoding.UTF8.GetString(bytes).Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0);
        if (firstLine is null || firstLine.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Length < 2)
            problems.Add($"{path} is not a dictionary (expected lines 'WORD PHONE ...')");
    }

    private static byte[] ReadHead(string path, int count)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var buffer = new byte[count];
        var read = stream.ReadAtLeast(buffer, count, throwOnEndOfStream: false);
        return buffer.AsSpan(0, read).ToArray();
    }

    private static bool StartsWith(byte[] bytes, ReadOnlySpan<byte> prefix) => bytes.AsSpan().StartsWith(prefix);
}
