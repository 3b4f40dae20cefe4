using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using VoiceAspire.Api.Audio;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Deepgram;

/// <summary>The Deepgram-compatible GET /v1/listen on a real Api + Inference: query, auth, messages, controls, close codes.</summary>
[Collection(DeepgramApiCollection.Name)]
public class DeepgramListenTests(DeepgramApiFixture dg)
{
    private const string Linear16 = "encoding=linear16&sample_rate=16000";

    private static string Finals(IEnumerable<JsonElement> messages) => string.Join(" ", messages
        .Where(m => m.GetProperty("type").GetString() == "Results" && m.GetProperty("is_final").GetBoolean())
        .Select(Transcript).Where(t => t.Length > 0));

    private static string Transcript(JsonElement results) => results.GetProperty("channel").GetProperty("alternatives")[0].GetProperty("transcript").GetString()!;

    private static bool IsType(JsonElement m, string type) => m.GetProperty("type").GetString() == type;

    private async Task SendAllAsync(DeepgramTestClient client, byte[] bytes, int chunk = 3200)
    {
        foreach (var piece in ApiFixture.FixedChunks(bytes, chunk)) await client.SendAsync(piece);
    }

    [Theory]
    [InlineData("encoding=linear16", "sample_rate is required")]
    [InlineData("encoding=opus&sample_rate=48000", "not supported by this server")]
    [InlineData("encoding=flac&sample_rate=16000", "not supported by this server")]
    [InlineData("encoding=pcm9&sample_rate=16000", "not a known encoding")]
    [InlineData("encoding=linear16&sample_rate=12345", "sample_rate must be one of")]
    [InlineData("sample_rate=fast", "sample_rate must be one of")]
    [InlineData("channels=0", "channels must be")]
    [InlineData("channels=9", "channels must be")]
    [InlineData("interim_results=yes", "interim_results must be true or false")]
    [InlineData("vad_events=1", "vad_events must be true or false")]
    [InlineData("punctuate=maybe", "punctuate must be true or false")]
    [InlineData("smart_format=on", "smart_format must be true or false")]
    [InlineData("endpointing=soon", "endpointing must be")]
    [InlineData("endpointing=-5", "endpointing must be")]
    [InlineData("utterance_end_ms=500&interim_results=true", "utterance_end_ms must be")]
    [InlineData("utterance_end_ms=1000", "requires interim_results=true")]
    [InlineData("multichannel=true", "multichannel=true is not supported")]
    [InlineData("language=english!", "language must be")]
    [InlineData("model=../../etc", "model must be")]
    [InlineData("model=no-such-engine", "No such model")]
    public async Task Every_bad_query_is_a_Deepgram_400_before_the_upgrade(string query, string fragment)
    {
        var (status, body, requestId) = await dg.RefusedUpgradeAsync(query);
        Assert.Equal(400, status);
        Assert.Equal("INVALID_QUERY_PARAMETER", body.GetProperty("err_code").GetString());
        Assert.Contains(fragment, body.GetProperty("err_msg").GetString());
        Assert.True(Guid.TryParse(requestId, out _));
        Assert.Equal(requestId, body.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task Auth_takes_Token_or_Bearer_or_the_token_subprotocol_and_refuses_a_wrong_or_missing_key()
    {
        foreach (var authorization in new[] { null, "Token wrong-key", "Bearer wrong-key", "Basic " + DeepgramApiFixture.Key })
        {
            var (status, body, requestId) = await dg.RefusedUpgradeAsync(Linear16, authorization);
            Assert.Equal(401, status);
            Assert.Equal("INVALID_AUTH", body.GetProperty("err_code").GetString());
            Assert.NotNull(requestId);
        }
        var (subStatus, _, _) = await dg.RefusedUpgradeAsync(Linear16, authorization: null, subprotocols: "token, wrong-key");
        Assert.Equal(401, subStatus);
        var (plain, plainBody, _) = await dg.RefusedUpgradeAsync(Linear16, upgrade: false);
        Assert.Equal(400, plain);
        Assert.Contains("WebSocket", plainBody.GetProperty("err_msg").GetString());

        await using (var token = await DeepgramTestClient.ConnectAsync(dg.ListenUri(Linear16)))
            Assert.True(Guid.TryParse(token.RequestId, out _));
        await using (var bearer = await DeepgramTestClient.ConnectAsync(dg.ListenUri(Linear16), DeepgramApiFixture.OtherKey, scheme: "Bearer"))
            Assert.NotNull(bearer.RequestId);
        await using (var browser = await DeepgramTestClient.ConnectAsync(dg.ListenUri(Linear16), DeepgramApiFixture.Key, viaSubprotocol: true))
        {
            Assert.Equal("token", browser.SubProtocol);
            await browser.SendControlAsync("CloseStream");
            await browser.WaitForAsync(m => IsType(m, "Metadata"));
        }
        var keyInLog = dg.Stack.Api.Log.Contains(DeepgramApiFixture.Key) || dg.Stack.Api.Log.Contains(DeepgramApiFixture.OtherKey);
        Assert.False(keyInLog, "a key reached the Api's log");
    }

    [Theory]
    [InlineData("", "pocketsphinx:en-us")]
    [InlineData("model=nova-3", "pocketsphinx:en-us")]
    [InlineData("model=nova-2-phonecall", "pocketsphinx:en-us")]
    [InlineData("model=fast", "sherpa-onnx:")]
    [InlineData("model=sherpa-onnx", "sherpa-onnx:")]
    [InlineData("model=pocketsphinx", "pocketsphinx:en-us")]
    public async Task Models_map_to_engines_Deepgram_names_to_the_default_aliases_from_configuration_ids_pass_through(string query, string engine)
    {
        await using var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri(query));
        await client.SendControlAsync("CloseStream");
        var metadata = await client.WaitForAsync(m => IsType(m, "Metadata"));
        var uuid = metadata.GetProperty("models")[0].GetString()!;
        Assert.StartsWith(engine, metadata.GetProperty("model_info").GetProperty(uuid).GetProperty("name").GetString());
        Assert.Equal(0, metadata.GetProperty("duration").GetDouble());
    }

    [Fact]
    public void The_Api_Deepgram_options_are_validated()
    {
        var validator = new VoiceAspire.Api.Protocols.Deepgram.DeepgramCompatOptionsValidator();
        Assert.True(validator.Validate(new VoiceAspire.Api.Protocols.Deepgram.DeepgramCompatOptions()).IsValid);
        Assert.False(validator.Validate(new VoiceAspire.Api.Protocols.Deepgram.DeepgramCompatOptions() { ApiKeys = [""] }).IsValid);
        Assert.False(validator.Validate(new VoiceAspire.Api.Protocols.Deepgram.DeepgramCompatOptions() { IdleTimeoutSeconds = 0 }).IsValid);
        Assert.False(validator.Validate(new VoiceAspire.Api.Protocols.Deepgram.DeepgramCompatOptions() { Models = new() { ["x"] = new string('a', 300) } }).IsValid);
    }

    [Fact]
    public async Task Linear16_stream_gives_interim_and_final_Results_then_Metadata_and_close_1000_on_CloseStream()
    {
        var bytes = ApiFixture.Int16(dg.Jfk);
        await using var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri($"model=nova-3&language=en-US&{Linear16}&interim_results=true&punctuate=true&smart_format=true&tag=x"));
        await SendAllAsync(client, bytes);
        await client.SendControlAsync("CloseStream");
        var metadata = await client.WaitForAsync(m => IsType(m, "Metadata"), 90);
        await client.WaitClosedAsync();

        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        var messages = client.Received;
        Assert.True(IsType(messages[^1], "Metadata"));
        var results = messages.Where(m => IsType(m, "Results")).ToList();
        Assert.Contains(results, r => !r.GetProperty("is_final").GetBoolean() && Transcript(r).Length > 0);
        var finals = results.Where(r => r.GetProperty("is_final").GetBoolean()).ToList();
        Assert.NotEmpty(finals);
        Assert.Equal(await dg.DirectAsync("pocketsphinx"), Finals(messages));
        // Engine finals are endpointed: speech_final; none came from a Finalize.
        Assert.All(finals, f => Assert.True(f.GetProperty("speech_final").GetBoolean()));
        Assert.All(results, r => Assert.False(r.GetProperty("from_finalize").GetBoolean()));
        var first = finals[0];
        Assert.Equal([0, 1], first.GetProperty("channel_index").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("pocketsphinx:en-us", first.GetProperty("metadata").GetProperty("model_info").GetProperty("name").GetString());
        Assert.Equal(client.RequestId, first.GetProperty("metadata").GetProperty("request_id").GetString());
        var words = first.GetProperty("channel").GetProperty("alternatives")[0].GetProperty("words").EnumerateArray().ToList();
        Assert.Equal(Transcript(first), string.Join(" ", words.Select(w => w.GetProperty("word").GetString())));
        Assert.All(words, w => Assert.True(w.GetProperty("end").GetDouble() >= w.GetProperty("start").GetDouble()));
        // Results tile the audio: each final starts where the previous one ended.
        for (var i = 1; i < finals.Count; i++)
            Assert.Equal(finals[i - 1].GetProperty("start").GetDouble() + finals[i - 1].GetProperty("duration").GetDouble(), finals[i].GetProperty("start").GetDouble(), 3);

        Assert.Equal(client.RequestId, metadata.GetProperty("request_id").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), metadata.GetProperty("sha256").GetString());
        Assert.Equal(dg.Jfk.Length / 16000.0, metadata.GetProperty("duration").GetDouble(), 2);
        Assert.Equal(1, metadata.GetProperty("channels").GetInt32());
        var uuid = first.GetProperty("metadata").GetProperty("model_uuid").GetString();
        Assert.Equal(uuid, metadata.GetProperty("models")[0].GetString());
    }

    [Fact]
    public async Task Containerized_WAV_without_encoding_and_a_pass_through_engine_id_transcribe_like_the_engine_direct()
    {
        await using (var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri("model=sherpa-onnx")))
        {
            await SendAllAsync(client, await File.ReadAllBytesAsync(dg.JfkPath), 8192);
            await client.SendControlAsync("CloseStream");
            await client.WaitForAsync(m => IsType(m, "Metadata"), 90);
            Assert.Equal(await dg.DirectAsync("sherpa-onnx"), Finals(client.Received));
            Assert.StartsWith("sherpa-onnx:", client.OfType("Results").First().GetProperty("metadata").GetProperty("model_info").GetProperty("name").GetString());
            // interim_results defaults to false, as at Deepgram.
            Assert.All(client.OfType("Results"), r => Assert.True(r.GetProperty("is_final").GetBoolean()));
        }
    }

    [Theory]
    [InlineData("mulaw")]
    [InlineData("alaw")]
    public async Task G711_audio_is_expanded_exactly(string encoding)
    {
        var aLaw = encoding == "alaw";
        var encoded = dg.Jfk.Select(x => G711Encode(x, aLaw)).ToArray();
        var pcm = new byte[encoded.Length * 2];
        G711.Decode(encoded, pcm, aLaw);
        var decoded = VoiceAspire.Contracts.Audio.Pcm.ToFloat(pcm, VoiceAspire.Contracts.Audio.PcmEncoding.Int16);

        await using var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri($"encoding={encoding}&sample_rate=16000"));
        await SendAllAsync(client, encoded, 1600);
        await client.SendControlAsync("CloseStream");
        var metadata = await client.WaitForAsync(m => IsType(m, "Metadata"), 90);
        var text = Finals(client.Received);
        Assert.NotEmpty(text);
        Assert.Equal(await dg.DirectAsync("pocketsphinx", decoded), text);
        Assert.Equal(dg.Jfk.Length / 16000.0, metadata.GetProperty("duration").GetDouble(), 2);
    }

    [Fact]
    public void G711_tables_match_the_standard()
    {
        Assert.Equal(0, G711.MuLawToLinear(0xFF));
        Assert.Equal(-32124, G711.MuLawToLinear(0x00));
        Assert.Equal(32124, G711.MuLawToLinear(0x80));
        Assert.Equal(-8, G711.ALawToLinear(0x55));
        Assert.Equal(8, G711.ALawToLinear(0xD5));
        Assert.Equal(-32256, G711.ALawToLinear(0x2A));
        // Every code's value encodes back to a code of the same value (μ-law has two zeros).
        for (var b = 0; b < 256; b++)
        {
            var mu = G711.MuLawToLinear((byte)b);
            Assert.Equal(mu, G711.MuLawToLinear(G711Encode(mu / 32768f, aLaw: false)));
            var a = G711.ALawToLinear((byte)b);
            Assert.Equal(a, G711.ALawToLinear(G711Encode(a / 32768f, aLaw: true)));
        }
    }

    [Fact]
    public async Task KeepAlive_keeps_a_silent_connection_open_and_silence_without_it_closes_with_1011_NET_0001()
    {
        await using (var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri(Linear16)))
        {
            await client.SendAsync(ApiFixture.Int16(dg.Jfk.AsSpan(0, 8000).ToArray()));
            for (var i = 0; i < 8; i++) // 4 s: twice the idle timeout
            {
                await Task.Delay(500);
                await client.SendControlAsync("KeepAlive");
            }
            await client.SendControlAsync("CloseStream");
            await client.WaitForAsync(m => IsType(m, "Metadata"));
            await client.WaitClosedAsync();
            Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        }
        await using (var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri(Linear16)))
        {
            await client.WaitClosedAsync(DeepgramApiFixture.IdleTimeoutSeconds + 10);
            Assert.Equal(WebSocketCloseStatus.InternalServerError, client.CloseStatus);
            Assert.Equal("NET-0001", client.CloseReason);
            Assert.DoesNotContain(client.Received, m => IsType(m, "Metadata"));
        }
    }

    [Fact]
    public async Task Finalize_flushes_the_current_utterance_as_a_from_finalize_final_and_the_stream_goes_on()
    {
        var bytes = ApiFixture.Int16(dg.Jfk);
        await using var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri($"{Linear16}&interim_results=true"));
        // Nothing heard yet: the answer is an empty final, still marked from_finalize.
        await client.SendControlAsync("Finalize");
        var empty = await client.WaitForAsync(m => IsType(m, "Results") && m.GetProperty("from_finalize").GetBoolean());
        Assert.True(empty.GetProperty("is_final").GetBoolean());
        Assert.Equal("", Transcript(empty));

        // Mid-speech (jfk's first words run to about 2.5 s): Finalize settles what was heard so far.
        var cut = 2 * 16000 * 2;
        await SendAllAsync(client, bytes[..cut]);
        await client.WaitForAsync(m => IsType(m, "Results") && !m.GetProperty("is_final").GetBoolean() && Transcript(m).Length > 0);
        await client.SendControlAsync("Finalize");
        var flushed = await client.WaitForAsync(m => IsType(m, "Results") && m.GetProperty("from_finalize").GetBoolean() && Transcript(m).Length > 0);
        Assert.True(flushed.GetProperty("is_final").GetBoolean());
        Assert.False(flushed.GetProperty("speech_final").GetBoolean());
        Assert.True(flushed.GetProperty("start").GetDouble() + flushed.GetProperty("duration").GetDouble() <= 2.0 + 1e-6);

        await SendAllAsync(client, bytes[cut..]);
        await client.SendControlAsync("CloseStream");
        await client.WaitForAsync(m => IsType(m, "Metadata"), 90);
        var finals = client.OfType("Results").Where(r => r.GetProperty("is_final").GetBoolean() && Transcript(r).Length > 0).ToList();
        Assert.True(finals.Count >= 2);
        Assert.Equal(1, finals.Count(f => f.GetProperty("from_finalize").GetBoolean()));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, (await Closed(client)).CloseStatus);
    }

    private static async Task<DeepgramTestClient> Closed(DeepgramTestClient client)
    {
        await client.WaitClosedAsync();
        return client;
    }

    [Fact]
    public async Task Vad_events_give_SpeechStarted_before_speech_and_utterance_end_ms_gives_UtteranceEnd_after_the_last_word()
    {
        var speech = ApiFixture.Int16(dg.Jfk);
        var silence = new byte[2 * 16000 * 2];
        await using var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri($"{Linear16}&interim_results=true&vad_events=true&utterance_end_ms=1000"));
        await SendAllAsync(client, [.. speech, .. silence]);
        await client.SendControlAsync("CloseStream");
        await client.WaitForAsync(m => IsType(m, "Metadata"), 90);
        var messages = client.Received.ToList();

        var started = messages.FindIndex(m => IsType(m, "SpeechStarted"));
        var firstSpeech = messages.FindIndex(m => IsType(m, "Results") && Transcript(m).Length > 0);
        Assert.True(started >= 0 && started < firstSpeech, "SpeechStarted comes before the first Results with words");
        Assert.Equal([0, 1], messages[started].GetProperty("channel").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(messages[started].GetProperty("timestamp").GetDouble() >= 0);

        var ends = messages.Where(m => IsType(m, "UtteranceEnd")).ToList();
        Assert.NotEmpty(ends);
        var lastFinal = messages.Last(m => IsType(m, "Results") && m.GetProperty("is_final").GetBoolean() && Transcript(m).Length > 0);
        var lastWords = lastFinal.GetProperty("channel").GetProperty("alternatives")[0].GetProperty("words");
        var lastWordEnd = lastWords.GetArrayLength() > 0 ? lastWords[lastWords.GetArrayLength() - 1].GetProperty("end").GetDouble()
            : lastFinal.GetProperty("start").GetDouble() + lastFinal.GetProperty("duration").GetDouble();
        Assert.Equal(lastWordEnd, ends[^1].GetProperty("last_word_end").GetDouble(), 3);
        Assert.True(messages.IndexOf(ends[^1]) > messages.IndexOf(lastFinal));
        Assert.True(IsType(messages[^1], "Metadata"));

        // Without vad_events / utterance_end_ms: neither.
        await using var plain = await DeepgramTestClient.ConnectAsync(dg.ListenUri($"{Linear16}&interim_results=true"));
        await SendAllAsync(plain, [.. speech, .. silence]);
        await plain.SendControlAsync("CloseStream");
        await plain.WaitForAsync(m => IsType(m, "Metadata"), 90);
        Assert.DoesNotContain(plain.Received, m => IsType(m, "SpeechStarted") || IsType(m, "UtteranceEnd"));
    }

    [Fact]
    public async Task Undecodable_audio_closes_with_1008_DATA_0000_and_unknown_text_gets_a_warning()
    {
        await using var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri());
        await client.SendTextAsync("{\"type\":\"Flush\"}");
        var warning = await client.WaitForAsync(m => IsType(m, "Warning"));
        Assert.Equal("INVALID_MESSAGE", warning.GetProperty("warn_code").GetString());
        // A WAV header announcing MPEG audio (format 0x55): not something the normalizer decodes.
        var header = new byte[44];
        "RIFF"u8.CopyTo(header);
        BitConverter.GetBytes(36 + 32000).CopyTo(header, 4);
        "WAVEfmt "u8.CopyTo(header.AsSpan(8));
        BitConverter.GetBytes(16).CopyTo(header, 16);
        BitConverter.GetBytes((short)0x55).CopyTo(header, 20);
        BitConverter.GetBytes((short)1).CopyTo(header, 22);
        BitConverter.GetBytes(16000).CopyTo(header, 24);
        BitConverter.GetBytes(32000).CopyTo(header, 28);
        BitConverter.GetBytes((short)2).CopyTo(header, 32);
        BitConverter.GetBytes((short)16).CopyTo(header, 34);
        "data"u8.CopyTo(header.AsSpan(36));
        BitConverter.GetBytes(32000).CopyTo(header, 40);
        await client.SendAsync(header.Concat(new byte[32000]).ToArray());
        await client.WaitClosedAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
        Assert.Equal("DATA-0000", client.CloseReason);
    }

    [Fact]
    public async Task Losing_the_recognition_service_mid_stream_closes_with_1011_NET_0000()
    {
        await using var client = await DeepgramTestClient.ConnectAsync(dg.ListenUri(Linear16));
        await client.SendAsync(ApiFixture.Int16(dg.Jfk.AsSpan(0, 16000).ToArray()));
        var restart = dg.Stack.RestartInferenceAsync();
        // The client keeps the connection alive as a real one would, so only the lost service can close it
        // (a slow machine must not let the 2 s idle rule, NET-0001, win the race).
        var closed = client.WaitClosedAsync(30);
        while (!closed.IsCompleted)
        {
            try { await client.SendControlAsync("KeepAlive"); }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException) { }
            await Task.WhenAny(closed, Task.Delay(250));
        }
        await closed;
        await restart;
        Assert.Equal(WebSocketCloseStatus.InternalServerError, client.CloseStatus);
        Assert.Equal("NET-0000", client.CloseReason);
    }

    /// <summary>G.711 encoder (the standard segment search), for making test audio.</summary>
    internal static byte G711Encode(float sample, bool aLaw)
    {
        var pcm = (int)Math.Clamp(MathF.Round(sample * 32768f), -32768, 32767);
        if (!aLaw)
        {
            const int bias = 0x84, clip = 32635;
            var sign = pcm < 0 ? 0x80 : 0;
            var magnitude = Math.Min(Math.Abs(pcm), clip) + bias;
            var exponent = 7;
            for (var mask = 0x4000; (magnitude & mask) == 0 && exponent > 0; mask >>= 1) exponent--;
            var mantissa = (magnitude >> (exponent + 3)) & 0x0F;
            return (byte)~(sign | (exponent << 4) | mantissa);
        }
        var aSign = pcm >= 0 ? 0x80 : 0;
        var a = pcm >= 0 ? pcm : -pcm - 1;
        a = Math.Min(a, 32767) >> 3; // 13-bit magnitude
        int segment = 0;
        for (var v = a >> 5; v > 0 && segment < 7; v >>= 1) segment++;
        var m = segment == 0 ? (a >> 1) & 0x0F : (a >> segment) & 0x0F;
        return (byte)((aSign | (segment << 4) | m) ^ 0x55);
    }
}
