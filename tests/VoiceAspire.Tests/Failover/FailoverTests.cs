using System.Diagnostics;
using System.Text.Json;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Tests.Support;
using Xunit.Abstractions;

namespace VoiceAspire.Tests.Failover;

/// <summary>
/// Several Inference instances behind one Api (docs/scaling.md), all real processes: the Api picks the less-loaded
/// instance from the heartbeats in Redis, and a session whose instance is killed (SIGKILL) mid-stream moves to the other
/// one with the same final transcript as a run without the fault.
/// </summary>
[Collection(FailoverCollection.Name)]
public class FailoverTests(FailoverStack stack, ITestOutputHelper output)
{
    // 0.1 s of int16 audio per audio_chunk, sent at twice real time.
    private const int ChunkBytes = 3200;
    private static readonly TimeSpan ChunkPace = TimeSpan.FromMilliseconds(50);

    /// <summary>A LibriVox sentence and the JFK clip, back to back: several finals with speech after the first.</summary>
    private static readonly byte[] Speech = ApiFixture.Int16(
        [.. SharedData.ReadMono16k(Clip("0870")), .. SharedData.ReadMono16k(Clip("jfk"))]);

    /// <summary>The JFK clip alone: PocketSphinx (slower than the zh model) ends utterances at its pauses, three finals.</summary>
    private static readonly byte[] Jfk = ApiFixture.Int16(SharedData.ReadMono16k(Clip("jfk")));

    private static string Clip(string part) => SharedData.Transcripts.Single(t => Path.GetFileName(t.File).Contains(part)).File;

    [Theory]
    [InlineData("sherpa-onnx")]
    [InlineData("pocketsphinx")]
    public Task Killing_the_serving_instance_mid_stream_loses_and_repeats_no_final(string engine) =>
        KillMidStreamAsync(engine, engine == "pocketsphinx" ? Jfk : Speech, stack.Api);

    /// <summary>
    /// Through the Api whose buffer holds only 3 s: the replay is the audio after the last cut, not the whole stream.
    /// sherpa-onnx decodes each utterance from its endpoint on, so that replay gives the same words too.
    /// </summary>
    [Fact]
    public Task Past_the_buffer_bound_the_replay_from_the_last_cut_gives_the_same_transcript() =>
        KillMidStreamAsync("sherpa-onnx", Speech, stack.SmallBufferApi, expectExactReplay: false);

    private async Task KillMidStreamAsync(string engine, byte[] audio, ServiceProcess api, bool expectExactReplay = true)
    {
        var chunks = ApiFixture.FixedChunks(audio, ChunkBytes).ToList();
        var expected = await BaselineAsync(engine, chunks);

        var received = new List<(JsonElement Message, long At)>();
        await using var client = await JsonSocketClient.ConnectAsync(Seed001Session.WebSocketUri(api.BaseAddress, $"/ws/{Seed001Session.NewClientId("fail")}"));
        client.OnMessage = m => { lock (received) received.Add((m, Stopwatch.GetTimestamp())); };
        await client.SendJsonAsync(new { type = "start_recording", engine });
        await client.WaitForTypeAsync("status", "MODEL_LOADED");
        var sender = Task.Run(async () =>
        {
            foreach (var chunk in chunks)
            {
                await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunk.Span) });
                await Task.Delay(ChunkPace);
            }
        });

        var victim = await ServingInstanceAsync();
        try
        {
            await client.WaitForAsync(m => JsonSocketClient.Is(m, "recognition_result") && m.GetProperty("is_final").GetBoolean());
            Assert.False(sender.IsCompleted, "the audio ended before the first final: nothing left to fail over");
            var killedAt = Stopwatch.GetTimestamp();
            stack.Inference[victim].Kill();

            await client.WaitForTypeAsync("status", "ENGINE_FAILOVER", TimeSpan.FromSeconds(20));
            await sender;
            await client.SendJsonAsync(new { type = "stop_recording" });
            var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));

            var messages = client.Received;
            Assert.DoesNotContain(messages, m => JsonSocketClient.Is(m, "error"));
            Assert.Equal(expected, Seed001Session.Finals(messages));
            Assert.Equal(expected, stopped.GetProperty("transcript").GetString());
            // Times continue across the switch: finals never go back.
            var finals = messages.Where(m => JsonSocketClient.Is(m, "recognition_result") && m.GetProperty("is_final").GetBoolean()).ToList();
            for (var i = 1; i < finals.Count; i++)
                Assert.True(finals[i].GetProperty("start").GetDouble() >= finals[i - 1].GetProperty("end").GetDouble() - 0.05,
                    $"final {i} starts before the previous one ended:\n{string.Join('\n', finals)}");

            // Failover time: from the kill to the first result of the new instance.
            (JsonElement, long)[] timeline;
            lock (received) timeline = [.. received];
            var failoverAt = timeline.First(r => JsonSocketClient.Is(r.Item1, "status", "ENGINE_FAILOVER")).Item2;
            var firstAfter = timeline.FirstOrDefault(r => r.Item2 > failoverAt && JsonSocketClient.Is(r.Item1, "recognition_result")).Item2;
            output.WriteLine($"{engine}: killed instance {victim}; ENGINE_FAILOVER after {Ms(killedAt, failoverAt):F0} ms, " +
                             $"first result from the new instance after {(firstAfter == 0 ? double.NaN : Ms(killedAt, firstAfter)):F0} ms; {finals.Count} finals");
            output.WriteLine($"expected: {expected}");
            output.WriteLine(api.Log.Split('\n').LastOrDefault(l => l.Contains("Failed over to")) ?? "(no failover line in the Api log)");
            var lostLine = api.Log.Split('\n').Last(l => l.Contains("failing over with"));
            Assert.Contains(expectExactReplay ? "(exact)" : "(since the last cut)", lostLine);
        }
        finally
        {
            await stack.RestartInferenceAsync(victim);
        }
    }

    [Fact]
    public async Task The_api_sends_new_sessions_to_the_less_loaded_instance()
    {
        // Three streams held open directly on instance 0.
        var held = new List<InferenceStreamClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var stream = await InferenceStreamClient.ConnectAsync(InferenceStreamClient.BuildUri(stack.Inference[0].BaseAddress, "pocketsphinx", $"held-{i}"));
                held.Add(stream);
                await using var messages = stream.ReadMessagesAsync().GetAsyncEnumerator();
                Assert.True(await messages.MoveNextAsync());
                Assert.Equal(InferenceStreamProtocol.Types.Ready, messages.Current.Type);
            }
            await stack.WaitForHeartbeatAsync(0, b => b.ActiveStreams == 3);
            await stack.WaitForHeartbeatAsync(1, b => b.ActiveStreams == 0);
            await Task.Delay(TimeSpan.FromSeconds(0.6)); // the Api reads heartbeats every 0.25 s

            // Rotation alone would put one of these two on instance 0.
            var clients = new List<JsonSocketClient>();
            try
            {
                for (var i = 0; i < 2; i++)
                {
                    var client = await JsonSocketClient.ConnectAsync(stack.WebSocketUri($"/ws/{Seed001Session.NewClientId("load")}"));
                    clients.Add(client);
                    await client.SendJsonAsync(new { type = "start_recording", engine = "pocketsphinx" });
                    await client.WaitForTypeAsync("status", "MODEL_LOADED");
                }
                var other = await stack.WaitForHeartbeatAsync(1, b => b.ActiveStreams == 2);
                var loaded = (await stack.HeartbeatsAsync())[0];
                Assert.Equal(3, loaded.ActiveStreams);
                output.WriteLine($"instance 0: {loaded.ToJson()}\ninstance 1: {other.ToJson()}");
            }
            finally
            {
                foreach (var client in clients) await client.DisposeAsync();
            }
        }
        finally
        {
            foreach (var stream in held) await stream.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_stop_sent_during_the_outage_still_ends_with_the_whole_transcript()
    {
        const string engine = "sherpa-onnx";
        var chunks = ApiFixture.FixedChunks(Speech, ChunkBytes).ToList();
        var expected = await BaselineAsync(engine, chunks);

        await using var client = await JsonSocketClient.ConnectAsync(stack.WebSocketUri($"/ws/{Seed001Session.NewClientId("stop")}"));
        await client.SendJsonAsync(new { type = "start_recording", engine });
        await client.WaitForTypeAsync("status", "MODEL_LOADED");
        // All the audio at once: the engine is still working through it when its instance dies.
        foreach (var chunk in chunks)
            await client.SendJsonAsync(new { type = "audio_chunk", data = Convert.ToBase64String(chunk.Span) });
        var victim = await ServingInstanceAsync();
        try
        {
            await client.WaitForAsync(m => JsonSocketClient.Is(m, "recognition_result") && m.GetProperty("is_final").GetBoolean());
            stack.Inference[victim].Kill();
            await client.SendJsonAsync(new { type = "stop_recording" }); // at once: before or while the session fails over
            var stopped = await client.WaitForTypeAsync("status", "SESSION_STOPPED", TimeSpan.FromSeconds(60));
            var messages = client.Received;
            Assert.Contains(messages, m => JsonSocketClient.Is(m, "status", "ENGINE_FAILOVER"));
            Assert.DoesNotContain(messages, m => JsonSocketClient.Is(m, "error"));
            Assert.Equal(expected, Seed001Session.Finals(messages));
            Assert.Equal(expected, stopped.GetProperty("transcript").GetString());
        }
        finally
        {
            await stack.RestartInferenceAsync(victim);
        }
    }

    /// <summary>The same audio through the same Api without a fault: the finals joined.</summary>
    private async Task<string> BaselineAsync(string engine, IEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        var baseline = await Seed001Session.RunAsync(stack.WebSocketUri($"/ws/{Seed001Session.NewClientId("base")}"), new() { ["engine"] = engine }, chunks);
        var expected = Seed001Session.Finals(baseline);
        Assert.NotEmpty(expected);
        Assert.True(baseline.Count(m => JsonSocketClient.Is(m, "recognition_result") && m.GetProperty("is_final").GetBoolean()) >= 2,
            "the test needs finals before and after the kill");
        // Until both instances say they are idle, a heartbeat could still count the baseline's stream.
        await stack.WaitForHeartbeatAsync(0, b => b.ActiveStreams == 0);
        await stack.WaitForHeartbeatAsync(1, b => b.ActiveStreams == 0);
        return expected;
    }

    /// <summary>The instance serving the one open session: the one whose heartbeat counts a stream.</summary>
    private async Task<int> ServingInstanceAsync()
    {
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(100))
        {
            var busy = (await stack.HeartbeatsAsync()).Where(b => b.Key >= 0 && b.Value.ActiveStreams > 0).Select(b => b.Key).ToList();
            if (busy.Count == 1) return busy[0];
        }
        throw new TimeoutException("No heartbeat showed the session's stream.");
    }

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}
