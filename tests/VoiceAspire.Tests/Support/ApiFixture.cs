using System.Text.Json;
using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Tests.Support;

/// <summary>One Inference + Api pair shared by the Api tests of <see cref="ApiCollection"/>.</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public ApiStack Stack { get; private set; } = null!;

    public async Task InitializeAsync() => Stack = await ApiStack.StartAsync(sherpaModelDir: SharedData.ZhModelDir);

    public async Task DisposeAsync() => await Stack.DisposeAsync();

    /// <summary>
    /// A whole seed-001 session: start_recording (with <paramref name="start"/>'s fields), every chunk as
    /// base64 audio_chunk, stop_recording; returns everything received up to SESSION_STOPPED.
    /// </summary>
    public Task<IReadOnlyList<JsonElement>> Seed001Async(Dictionary<string, object?> start, IEnumerable<ReadOnlyMemory<byte>> chunks, string? clientId = null) =>
        Seed001Session.RunAsync(Stack.WebSocketUri($"/ws/{clientId ?? Seed001Session.NewClientId()}"), start, chunks);

    /// <summary>Splits encoded audio into random-sized byte chunks (whole samples or not).</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> RandomChunks(byte[] bytes, int seed, int minBytes = 512, int maxBytes = 16384)
    {
        var random = new Random(seed);
        for (var offset = 0; offset < bytes.Length;)
        {
            var n = Math.Min(random.Next(minBytes, maxBytes + 1), bytes.Length - offset);
            yield return bytes.AsMemory(offset, n);
            offset += n;
        }
    }

    public static IEnumerable<ReadOnlyMemory<byte>> FixedChunks(byte[] bytes, int size)
    {
        for (var offset = 0; offset < bytes.Length; offset += size)
            yield return bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset));
    }

    public static string Finals(IEnumerable<JsonElement> messages) => Seed001Session.Finals(messages);

    public static byte[] Int16(float[] samples) => Pcm.FromFloat(samples, PcmEncoding.Int16);
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api stack";
}
