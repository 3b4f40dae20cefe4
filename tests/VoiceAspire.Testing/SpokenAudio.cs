using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Testing;

/// <summary>
/// Speech synthesized by espeak-ng and converted by sox to 16 kHz mono int16 WAV, for tests and benchmarks that need
/// a known phrase ("hey jarvis", a Mandarin keyword). Files go to one temp folder per process and are made once per
/// (text, voice, speed, padding); nothing is committed. Needs the Debian packages espeak-ng and sox (scripts/setup.sh).
/// </summary>
public static class SpokenAudio
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);
    private static readonly ConcurrentDictionary<string, Lazy<string>> Made = new(StringComparer.Ordinal);

    /// <summary>This process's cache folder (deleted by the OS's temp cleaning, not by us: files may be in use).</summary>
    public static string CacheDirectory { get; } = Directory.CreateTempSubdirectory("voiceaspire-spoken-").FullName;

    /// <summary>
    /// A 16 kHz mono int16 WAV of <paramref name="text"/> in espeak-ng voice <paramref name="voice"/> (e.g. "en-us",
    /// "en-gb+f3", "cmn"), <paramref name="wordsPerMinute"/> fast, with <paramref name="padSeconds"/> of silence before and after.
    /// </summary>
    public static string Wav(string text, string voice, int wordsPerMinute = 150, double padSeconds = 1.0)
    {
        var key = $"{voice}|{wordsPerMinute}|{padSeconds:F3}|{text}";
        var lazy = Made.GetOrAdd(key, k => new Lazy<string>(() => Make(k, text, voice, wordsPerMinute, padSeconds)));
        return lazy.Value;
    }

    /// <summary>The samples of <see cref="Wav"/> as floats in [-1, 1].</summary>
    public static float[] Samples(string text, string voice, int wordsPerMinute = 150, double padSeconds = 1.0) =>
        WavFile.Read(Wav(text, voice, wordsPerMinute, padSeconds)).Samples;

    private static string Make(string key, string text, string voice, int wordsPerMinute, double padSeconds)
    {
        var name = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16].ToLowerInvariant();
        var raw = Path.Combine(CacheDirectory, name + ".espeak.wav");
        var wav = Path.Combine(CacheDirectory, name + ".wav");
        Run("espeak-ng", ["-v", voice, "-s", wordsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture), "-w", raw, text]);
        var pad = padSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
        Run("sox", [raw, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", wav, "pad", pad, pad]);
        File.Delete(raw);
        return wav;
    }

    private static void Run(string tool, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"{tool} did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is not installed (apt-get install espeak-ng sox, or scripts/setup.sh).", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(ToolTimeout))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{tool} took longer than {ToolTimeout.TotalSeconds:F0} s.");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{tool} failed ({process.ExitCode}): {stderr.Result}");
        }
    }
}
