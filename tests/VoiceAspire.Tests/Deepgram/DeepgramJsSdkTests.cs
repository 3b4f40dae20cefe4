using System.Diagnostics;
using System.Text.Json;

namespace VoiceAspire.Tests.Deepgram;

/// <summary>
/// The official Deepgram JS SDK (npm @deepgram/sdk, pinned with its sha512 in tests/sdk-clients/deepgram-js/package-lock.json,
/// installed by scripts/fetch-sdk-clients.sh, never committed) against our /v1/listen with only its baseUrl changed.
/// </summary>
[Collection(DeepgramApiCollection.Name)]
public class DeepgramJsSdkTests(DeepgramApiFixture dg)
{
    private static readonly string ClientDir = Path.Combine(ServiceProcess.RepoRoot, "tests", "sdk-clients", "deepgram-js");

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = ClientDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task The_official_JS_SDK_streams_a_file_and_gets_interim_and_final_Results_with_the_engine_direct_transcript()
    {
        var fetch = await RunAsync("bash", Path.Combine(ServiceProcess.RepoRoot, "scripts", "fetch-sdk-clients.sh"));
        Assert.True(fetch.ExitCode == 0, fetch.Stderr);

        var baseUrl = $"ws://{dg.Stack.Api.BaseAddress.Authority}";
        var (exit, stdout, stderr) = await RunAsync("node", "listen.mjs", baseUrl, DeepgramApiFixture.Key, dg.JfkPath, "pocketsphinx");
        Assert.True(exit == 0, $"node exited {exit}: {stderr}\n{stdout}");
        var output = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        var messages = output.GetProperty("messages").EnumerateArray().ToList();
        static string Transcript(JsonElement r) => r.GetProperty("channel").GetProperty("alternatives")[0].GetProperty("transcript").GetString()!;
        var results = messages.Where(m => m.GetProperty("type").GetString() == "Results").ToList();

        Assert.Contains(results, r => !r.GetProperty("is_final").GetBoolean() && Transcript(r).Length > 0);
        var finals = results.Where(r => r.GetProperty("is_final").GetBoolean()).Select(Transcript).Where(t => t.Length > 0);
        Assert.Equal(await dg.DirectAsync("pocketsphinx"), string.Join(" ", finals));
        Assert.Contains(results, r => r.GetProperty("from_finalize").GetBoolean());
        Assert.Equal("Metadata", messages[^1].GetProperty("type").GetString());
        Assert.Equal(1000, output.GetProperty("close").GetProperty("code").GetInt32());
    }
}
