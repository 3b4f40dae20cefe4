using System.Diagnostics;
using System.Text.Json;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Testing.CloudDoubles;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.CloudEngines;

/// <summary>
/// Validates the Azure Speech double against the official Azure Speech JS SDK (npm microsoft-cognitiveservices-speech-sdk,
/// pinned with its dependencies' sha512 in tests/sdk-clients/azure-speech/package-lock.json, installed by
/// scripts/fetch-sdk-clients.sh, never committed): the double must find nothing wrong in what the real client sends, and the real client
/// must understand what the double answers. Our engine passing against the double is then worth something.
/// </summary>
public sealed class AzureSpeechOfficialSdkTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Key = "0123456789abcdef0123456789abcdef";

    [Fact]
    public async Task The_official_JS_SDK_recognizes_through_the_double_without_a_protocol_violation()
    {
        var jfk = SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav")).File;
        var audio = SharedData.ReadMono16k(jfk);
        var wav = Path.Combine(Path.GetTempPath(), $"voiceaspire-sdk-{Guid.NewGuid():N}.wav");
        await File.WriteAllBytesAsync(wav, WavFile.ToInt16Wav(audio, 16_000));
        ScriptedPhrase[] phrases = [new("and so my fellow americans", 0.32, 2.40), new("ask not what your country can do for you", 3.10, 6.90)];
        await using var service = await AzureSpeechDouble.StartAsync(new() { Key = Key, Phrases = phrases, SendForeignMessages = true });
        try
        {
            var endpoint = new Uri(service.Endpoint, "/speech/recognition/conversation/cognitiveservices/v1");
            var (exit, lines, log) = await RunNodeAsync(["recognize.js", endpoint.ToString(), Key, wav]);
            var events = lines.Select(l => JsonDocument.Parse(l).RootElement).ToArray();

            Assert.True(service.Violations.Count == 0, "double found: " + string.Join("; ", service.Violations) + "\n" + log);
            Assert.True(exit == 0, $"node exited {exit}:\n{log}");
            var connection = Assert.Single(service.Connections);
            output.WriteLine($"SDK upgrade: {connection.Path}{connection.Query}; headers: {string.Join(", ", connection.Headers.Keys.Order())}");
            output.WriteLine("SDK messages: " + string.Join(" | ", connection.Messages.Where(m => !m.StartsWith("audio ")).Take(8)));
            Assert.Equal(Pcm.FromFloat(audio, PcmEncoding.Int16), connection.Audio);

            // The SDK took the double's phrases as recognized speech, with our tick offsets, and ignored the foreign turn.
            var recognized = events.Where(e => e.GetProperty("event").GetString() == "recognized").ToArray();
            Assert.Equal(["And so my fellow americans.", "Ask not what your country can do for you."], recognized.Select(e => e.GetProperty("text").GetString()));
            for (var i = 0; i < phrases.Length; i++)
            {
                Assert.Equal((long)Math.Round(phrases[i].StartSeconds * 1e7), recognized[i].GetProperty("offset").GetInt64());
                Assert.Equal((long)Math.Round((phrases[i].EndSeconds - phrases[i].StartSeconds) * 1e7), recognized[i].GetProperty("duration").GetInt64());
            }
            Assert.Contains(events, e => e.GetProperty("event").GetString() == "recognizing" && e.GetProperty("text").GetString() == "and so my");
            Assert.DoesNotContain(events, e => e.TryGetProperty("text", out var t) && t.GetString()!.Contains("foreign"));
        }
        finally
        {
            File.Delete(wav);
        }
    }

    private static async Task<(int Exit, List<string> Lines, string Log)> RunNodeAsync(string[] args)
    {
        var client = Path.Combine(ServiceProcess.RepoRoot, "tests", "sdk-clients", "azure-speech");
        if (!Directory.Exists(Path.Combine(client, "node_modules", "microsoft-cognitiveservices-speech-sdk")))
            await RunAsync("bash", [Path.Combine(ServiceProcess.RepoRoot, "scripts", "fetch-sdk-clients.sh")], null, TimeSpan.FromMinutes(3));
        return await RunAsync("node", args, client, TimeSpan.FromSeconds(90));
    }

    private static async Task<(int Exit, List<string> Lines, string Log)> RunAsync(string file, string[] args, string? workingDirectory, TimeSpan limit)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        if (workingDirectory is not null) info.WorkingDirectory = workingDirectory;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync(new CancellationTokenSource(limit).Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran over {limit}:\n{await stdout}\n{await stderr}");
        }
        var output = await stdout;
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{')).ToList();
        return (process.ExitCode, lines, output + "\n" + await stderr);
    }
}
