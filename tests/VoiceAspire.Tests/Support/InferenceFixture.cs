using System.Net.Http.Json;
using VoiceAspire.Contracts.Inference;

namespace VoiceAspire.Tests.Support;

/// <summary>One real Inference process shared by the tests of <see cref="InferenceCollection"/>.</summary>
public sealed class InferenceFixture : IAsyncLifetime
{
    public const double IdleTimeoutSeconds = 4;

    public ServiceProcess Service { get; private set; } = null!;

    public async Task InitializeAsync() => Service = await ServiceProcess.StartAsync("VoiceAspire.Inference", new Dictionary<string, string>
    {
        ["Inference__IdleTimeoutSeconds"] = IdleTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Engines__SherpaOnnx__ModelPaths__0"] = SharedData.ZhModelDir,
    });

    public async Task DisposeAsync() => await Service.DisposeAsync();

    public Task<InferenceStreamClient> ConnectAsync(string? engine, string? sessionId = null, string encoding = InferenceStreamProtocol.Encodings.Float32) =>
        InferenceStreamClient.ConnectAsync(InferenceStreamClient.BuildUri(Service.BaseAddress, engine, sessionId, encoding));

    /// <summary>Streams <paramref name="audio"/> in the given chunk sizes, finishes, and returns every message until the server closes.</summary>
    public async Task<List<InferenceMessage>> TranscribeAsync(string? engine, float[] audio, IEnumerable<int> chunkSizes, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(120));
        await using var client = await ConnectAsync(engine);
        var reading = ReadAllAsync(client, cts.Token);
        var offset = 0;
        foreach (var size in chunkSizes)
        {
            if (offset >= audio.Length) break;
            var n = Math.Min(size, audio.Length - offset);
            await client.SendAudioAsync(audio.AsMemory(offset, n), cts.Token);
            offset += n;
        }
        await client.FinishAsync(cts.Token);
        return await reading;
    }

    public static async Task<List<InferenceMessage>> ReadAllAsync(InferenceStreamClient client, CancellationToken cancellationToken)
    {
        var messages = new List<InferenceMessage>();
        await foreach (var m in client.ReadMessagesAsync(cancellationToken)) messages.Add(m);
        return messages;
    }

    public async Task<T> GetJsonAsync<T>(string path)
    {
        using var http = Service.CreateHttpClient();
        return (await http.GetFromJsonAsync<T>(path))!;
    }
}

[CollectionDefinition(Name)]
public sealed class InferenceCollection : ICollectionFixture<InferenceFixture>
{
    public const string Name = "inference process";
}

public static class Chunking
{
    /// <summary>Chunk sizes (samples) of random durations between <paramref name="minMs"/> and <paramref name="maxMs"/>.</summary>
    public static IEnumerable<int> Random(int seed, int minMs = 10, int maxMs = 1000)
    {
        var random = new Random(seed);
        while (true) yield return random.Next(minMs, maxMs + 1) * 16;
    }

    public static IEnumerable<int> Fixed(int samples)
    {
        while (true) yield return samples;
    }
}
