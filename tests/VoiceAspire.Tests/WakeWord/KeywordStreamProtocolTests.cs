using System.Net.WebSockets;
using System.Text.Json;
using VoiceAspire.Contracts.Inference;
using VoiceAspire.Tests.Support;
using Types = VoiceAspire.Contracts.Inference.InferenceStreamProtocol.Types;

namespace VoiceAspire.Tests.WakeWord;

/// <summary>Keyword engines over Inference's internal /v1/stream protocol (a real Inference process).</summary>
[Collection(InferenceCollection.Name)]
public class KeywordStreamProtocolTests(InferenceFixture inference)
{
    [Fact]
    public async Task Keyword_events_carry_keyword_score_times_and_engine_and_reset_is_ordered_with_the_audio()
    {
        var phrase = SpokenAudio.Samples("hey jarvis", "en-gb", wordsPerMinute: 140, padSeconds: 0.5);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var uri = InferenceStreamClient.BuildUri(inference.Service.BaseAddress, "openwakeword:hey_jarvis", null,
            extra: [new("refractory", "30"), new("threshold", "0.5")]);
        await using var client = await InferenceStreamClient.ConnectAsync(uri);
        var reading = InferenceFixture.ReadAllAsync(client, cts.Token);
        async Task SendPhraseAsync()
        {
            for (var offset = 0; offset < phrase.Length; offset += 8000) // frames under the 128 KiB limit
                await client.SendAudioAsync(phrase.AsMemory(offset, Math.Min(8000, phrase.Length - offset)), cts.Token);
        }
        await SendPhraseAsync();
        await client.ResetAsync(cts.Token);          // no wait: the reset must still come after the phrase's audio
        await SendPhraseAsync();
        await client.FinishAsync(cts.Token);
        var messages = await reading;

        var types = messages.Select(m => m.Type).ToList();
        Assert.Equal([Types.Ready, Types.Keyword, Types.Reset, Types.Keyword, Types.Finished], types);
        var first = messages[1];
        Assert.Equal("hey_jarvis", first.Keyword);
        Assert.Equal("openwakeword:hey_jarvis", first.Engine);
        Assert.InRange(first.Score!.Value, 0.5f, 1f);
        Assert.True(first.Start < first.End);
        Assert.Equal(phrase.Length / 16000.0, messages[2].End!.Value, 3);  // the reset took effect after exactly the first phrase
        Assert.InRange(messages[3].End!.Value, phrase.Length / 16000.0, 2 * phrase.Length / 16000.0);
    }

    [Theory]
    [InlineData("pocketsphinx", "threshold", "0.5")]                // not a keyword engine
    [InlineData("openwakeword", "keywords", "x iǎo m ǐ")]          // fixed keywords
    [InlineData("sherpa-kws", "keywords", "hello world")]           // tokens the model does not have
    public async Task Settings_an_engine_cannot_use_end_the_stream_with_invalid_request(string engine, string key, string value)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await InferenceStreamClient.ConnectAsync(
            InferenceStreamClient.BuildUri(inference.Service.BaseAddress, engine, null, extra: [new(key, value)]));
        var messages = await InferenceFixture.ReadAllAsync(client, cts.Token);
        var error = Assert.Single(messages);
        Assert.Equal(InferenceStreamProtocol.ErrorCodes.InvalidRequest, error.Code);
        Assert.True(error.Fatal);
        Assert.False(inference.Service.HasExited);
    }

    [Fact]
    public async Task Bad_numbers_in_the_query_are_refused_before_the_upgrade_and_reset_on_an_asr_engine_is_an_invalid_message()
    {
        var bad = InferenceStreamClient.BuildUri(inference.Service.BaseAddress, "openwakeword", null, extra: [new("threshold", "1.5")]);
        await Assert.ThrowsAnyAsync<WebSocketException>(() => InferenceStreamClient.ConnectAsync(bad));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await inference.ConnectAsync("pocketsphinx");
        var reading = InferenceFixture.ReadAllAsync(client, cts.Token);
        await client.ResetAsync(cts.Token);
        await client.FinishAsync(cts.Token);
        var messages = await reading;
        Assert.Contains(messages, m => m.Type == Types.Error && m.Code == InferenceStreamProtocol.ErrorCodes.InvalidMessage && m.Fatal == false);
        Assert.Equal(Types.Finished, messages[^1].Type);
    }
}
