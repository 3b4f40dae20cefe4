using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using OpenAI.Audio;

namespace VoiceAspire.Tests.OpenAICompat;

/// <summary>POST /v1/audio/transcriptions through the official OpenAI SDK and raw HTTP, against real processes.</summary>
[Collection(OpenAICompatCollection.Name)]
public partial class TranscriptionTests(OpenAICompatFixture stack)
{
    private static string Normalize(string text) => string.Join(' ', text.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public async Task Sdk_json_returns_the_engine_text()
    {
        var result = await stack.Client().TranscribeAudioAsync(stack.JfkPath, new AudioTranscriptionOptions { ResponseFormat = AudioTranscriptionFormat.Simple });
        Assert.NotEmpty(stack.DirectText);
        Assert.Equal(stack.DirectText, result.Value.Text);
    }

    [Fact]
    public async Task Sdk_verbose_json_has_real_word_timings_and_segments()
    {
        // An explicit engine id as the model selects that engine.
        var result = (await stack.Client("pocketsphinx").TranscribeAudioAsync(stack.JfkPath, new AudioTranscriptionOptions
        {
            ResponseFormat = AudioTranscriptionFormat.Verbose,
            TimestampGranularities = AudioTimestampGranularities.Word | AudioTimestampGranularities.Segment,
            Language = "en",
        })).Value;

        Assert.Equal(stack.DirectText, result.Text);
        Assert.Equal(stack.JfkSeconds, result.Duration!.Value.TotalSeconds, 2);
        Assert.NotEmpty(result.Segments);
        Assert.Equal(stack.DirectText, string.Join(" ", result.Segments.Select(s => s.Text)));
        Assert.Equal(Normalize(stack.DirectText), Normalize(string.Join(" ", result.Words.Select(w => w.Word))));
        var previousEnd = TimeSpan.Zero;
        foreach (var word in result.Words)
        {
            Assert.True(word.StartTime >= previousEnd, $"'{word.Word}' starts at {word.StartTime} before the previous word ended ({previousEnd})");
            Assert.True(word.EndTime > word.StartTime, $"'{word.Word}' has no duration");
            Assert.True(word.EndTime.TotalSeconds <= stack.JfkSeconds + 0.01, $"'{word.Word}' ends after the audio");
            previousEnd = word.EndTime;
        }
        // Words are spread over the speech, not piled up: the clip's ~11 s of speech spans most of it.
        Assert.True(result.Words[^1].EndTime - result.Words[0].StartTime > TimeSpan.FromSeconds(stack.JfkSeconds / 2));
        foreach (var segment in result.Segments)
            Assert.Contains(result.Words, w => w.StartTime >= segment.StartTime && w.EndTime <= segment.EndTime);
    }

    [Fact]
    public async Task Sdk_srt_parses_into_cues_with_the_engine_text()
    {
        // "fast" is a configured alias (Api:OpenAICompat:Models:fast = pocketsphinx).
        var result = await stack.Client("fast").TranscribeAudioAsync(stack.JfkPath, new AudioTranscriptionOptions { ResponseFormat = AudioTranscriptionFormat.Srt });
        var cues = SrtCue().Matches(result.Value.Text);
        Assert.NotEmpty(cues);
        var previous = TimeSpan.Zero;
        for (var i = 0; i < cues.Count; i++)
        {
            Assert.Equal(i + 1, int.Parse(cues[i].Groups["n"].Value, CultureInfo.InvariantCulture));
            var start = TimeSpan.ParseExact(cues[i].Groups["start"].Value, @"hh\:mm\:ss\,fff", CultureInfo.InvariantCulture);
            var end = TimeSpan.ParseExact(cues[i].Groups["end"].Value, @"hh\:mm\:ss\,fff", CultureInfo.InvariantCulture);
            Assert.True(start >= previous && end >= start);
            previous = end;
        }
        Assert.Equal(stack.DirectText, string.Join(" ", cues.Select(c => c.Groups["text"].Value.Trim())));
    }

    [Fact]
    public async Task Any_wav_rate_and_layout_and_unknown_models_fall_back_to_the_default_engine()
    {
        // 48 kHz stereo float32: the normalizer resamples and downmixes as for every other dialect.
        var (file, reference) = Support.SharedData.Transcripts.Single(t => t.File.EndsWith("jfk.wav"));
        var pcm = Support.AudioVariants.Make("float32-48k-stereo", Support.SharedData.ReadMono16k(file)).Bytes;
        using var wav = new MemoryStream(Audio.AudioTestKit.Wav(3, 32, 48_000, 2, pcm));
        var text = (await stack.Client("no-such-engine").TranscribeAudioAsync(wav, "jfk-48k.wav")).Value.Text;
        var werDirect = Support.WordErrorRate.Compute(reference, stack.DirectText);
        var werVariant = Support.WordErrorRate.Compute(reference, text);
        Assert.True(text == stack.DirectText || Math.Abs(werVariant - werDirect) <= 0.01, $"WER {werVariant:P1} vs direct {werDirect:P1}: {text}");
    }

    [GeneratedRegex(@"(?<n>\d+)\n(?<start>\d\d:\d\d:\d\d,\d{3}) --> (?<end>\d\d:\d\d:\d\d,\d{3})\n(?<text>[^\n]+)\n")]
    private static partial Regex SrtCue();

    [Fact]
    public async Task Raw_text_and_vtt()
    {
        using var http = stack.Http();
        using (var response = await http.PostAsync("audio/transcriptions", Form("text")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(stack.DirectText, (await response.Content.ReadAsStringAsync()).Trim());
        }
        using (var response = await http.PostAsync("audio/transcriptions", Form("vtt")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var vtt = await response.Content.ReadAsStringAsync();
            Assert.StartsWith("WEBVTT\n\n", vtt);
            var cues = Regex.Matches(vtt, @"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n([^\n]+)\n");
            Assert.NotEmpty(cues);
            Assert.Equal(stack.DirectText, string.Join(" ", cues.Select(c => c.Groups[3].Value)));
        }
    }

    [Fact]
    public async Task Stream_true_sends_deltas_that_add_up_to_the_done_text()
    {
        using var http = stack.Http();
        using var form = Form("json");
        form.Add(new StringContent("true"), "stream");
        using var request = new HttpRequestMessage(HttpMethod.Post, "audio/transcriptions") { Content = form };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<JsonElement>();
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync()))
            while (await reader.ReadLineAsync() is { } line)
                if (line.StartsWith("data: ", StringComparison.Ordinal)) events.Add(JsonDocument.Parse(line[6..]).RootElement.Clone());

        var deltas = events.Where(e => e.GetProperty("type").GetString() == "transcript.text.delta").Select(e => e.GetProperty("delta").GetString()).ToList();
        Assert.NotEmpty(deltas);
        var done = Assert.Single(events, e => e.GetProperty("type").GetString() == "transcript.text.done");
        Assert.Equal("transcript.text.done", events[^1].GetProperty("type").GetString());
        Assert.Equal(stack.DirectText, done.GetProperty("text").GetString());
        Assert.Equal(stack.DirectText, string.Concat(deltas));
    }

    [Fact]
    public async Task Bad_requests_get_openai_shaped_errors_and_the_process_lives()
    {
        using var http = stack.Http();
        using (var noFile = new MultipartFormDataContent { { new StringContent("whisper-1"), "model" } })
            await AssertErrorAsync(await http.PostAsync("audio/transcriptions", noFile), HttpStatusCode.BadRequest, "file", "missing_required_parameter");

        using (var garbage = new MultipartFormDataContent { { new ByteArrayContent(new byte[4000].Select((_, i) => (byte)(i * 7)).ToArray()), "file", "noise.mp3" } })
            await AssertErrorAsync(await http.PostAsync("audio/transcriptions", garbage), HttpStatusCode.BadRequest, "file", "invalid_file_format");

        await AssertErrorAsync(await http.PostAsync("audio/transcriptions", Form("xml")), HttpStatusCode.BadRequest, "response_format", "invalid_value");
        using (var wordsWithJson = Form("json"))
        {
            wordsWithJson.Add(new StringContent("word"), "timestamp_granularities[]");
            await AssertErrorAsync(await http.PostAsync("audio/transcriptions", wordsWithJson), HttpStatusCode.BadRequest, "timestamp_granularities[]", "invalid_value");
        }
        using (var truncated = new MultipartFormDataContent { { new ByteArrayContent(File.ReadAllBytes(stack.JfkPath).AsSpan(0, 30).ToArray()), "file", "cut.wav" } })
            await AssertErrorAsync(await http.PostAsync("audio/transcriptions", truncated), HttpStatusCode.BadRequest, "file", "invalid_file_format");

        using (var tooLarge = new MultipartFormDataContent { { new ByteArrayContent(new byte[OpenAICompatFixture.MaxUploadBytes + 200_000]), "file", "big.wav" } })
            await AssertErrorAsync(await http.PostAsync("audio/transcriptions", tooLarge), HttpStatusCode.RequestEntityTooLarge, "file", "file_too_large");

        using (var wrongKey = stack.Http("wrong-key"))
            await AssertErrorAsync(await wrongKey.PostAsync("audio/transcriptions", Form("json")), HttpStatusCode.Unauthorized, null, "invalid_api_key");
        using (var noKey = stack.Http(null))
            await AssertErrorAsync(await noKey.PostAsync("audio/transcriptions", Form("json")), HttpStatusCode.Unauthorized, null, "invalid_api_key");

        // The SDK surfaces the same error as a ClientResultException with the status.
        var sdkError = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => stack.Client(key: "wrong-key").TranscribeAudioAsync(stack.JfkPath));
        Assert.Equal(401, sdkError.Status);

        // Still serving after all of that.
        var result = await stack.Client().TranscribeAudioAsync(stack.JfkPath);
        Assert.Equal(stack.DirectText, result.Value.Text);
    }

    private MultipartFormDataContent Form(string responseFormat) => new()
    {
        { new ByteArrayContent(File.ReadAllBytes(stack.JfkPath)), "file", "jfk.wav" },
        { new StringContent("whisper-1"), "model" },
        { new StringContent(responseFormat), "response_format" },
    };

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? param, string code)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.Equal(param, error.GetProperty("param").GetString());
            Assert.Equal(code, error.GetProperty("code").GetString());
        }
    }
}
