using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VoiceAspire.Contracts.Audio;
using VoiceAspire.Inference;
using VoiceAspire.Inference.Engines;
using VoiceAspire.Testing;

namespace VoiceAspire.Bench;

/// <summary>
/// Accuracy of the language-id engines (catalog kind "lid") on English and Mandarin: the real English clips of
/// ../shared/audio/en, English sentences spoken by espeak-ng, and Mandarin sentences (Chinese characters) spoken by
/// espeak-ng's cmn-latn-pinyin voices (its plain cmn voice reads tone numbers as English) — each cut to the seed-003 minimum (20,000 bytes = 0.625 s of 16 kHz int16), to 3 s, and
/// whole. No real Mandarin recording is available here: that is the method's biggest unknown.
/// </summary>
public static class LanguageBenchmark
{
    private static readonly string[] EnglishSentences =
    [
        "The weather is nice today, let's go for a walk in the park.",
        "Could you tell me how to get to the train station?",
        "I would like to book a ticket to Boston for tomorrow.",
        "We will discuss this problem again tomorrow morning.",
        "Our meeting has been moved to three in the afternoon.",
        "The food in this restaurant is really very good.",
    ];

    private static readonly string[] MandarinSentences =
    [
        "今天天气很好,我们去公园散步吧。",
        "请问火车站怎么走?",
        "我想订一张明天去北京的机票。",
        "这个问题我们明天再讨论。",
        "他每天早上六点起床,然后去跑步。",
        "你好,很高兴认识你。",
        "我们的会议推迟到下午三点。",
        "这家饭店的菜非常好吃。",
    ];

    public static async Task<int> RunAsync(BenchArgs args)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddInference();
        using var host = builder.Build();
        var catalog = host.Services.GetRequiredService<EngineCatalog>();
        var engineId = args.Get("engine") ?? "local-lid";
        var engine = await catalog.GetAsync(engineId);

        var sets = new List<(string Set, string Expected, string Name, float[] Samples)>();
        foreach (var file in Directory.GetFiles(Path.Combine(LatencyBenchmark.FindShared("audio"), "en"), "*.wav").Order())
            sets.Add(("real English (shared/audio/en)", "en", Path.GetFileName(file), WavFile.Read(file).Samples));
        foreach (var voice in new[] { "en-us", "en-gb+f2", "en-us+m3" })
            for (var i = 0; i < EnglishSentences.Length; i++)
                sets.Add(("espeak-ng English", "en", $"{voice}#{i}", SpokenAudio.Samples(EnglishSentences[i], voice, padSeconds: 0.1)));
        foreach (var voice in new[] { "cmn-latn-pinyin", "cmn-latn-pinyin+f2", "cmn-latn-pinyin+m3" })
            for (var i = 0; i < MandarinSentences.Length; i++)
                sets.Add(("espeak-ng Mandarin", "zh", $"{voice}#{i}", SpokenAudio.Samples(MandarinSentences[i], voice, padSeconds: 0.1)));

        Console.WriteLine($"# Language identification — engine {engine.Id}, {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| audio | length | clips | correct | accuracy | answered en / zh / und | mean confidence when right / wrong | RTF |");
        Console.WriteLine("|---|---|---:|---:|---:|---|---|---:|");
        var wrong = new List<string>();
        foreach (var group in sets.GroupBy(s => s.Set))
            foreach (var (label, seconds) in new[] { ("0.625 s (20,000 bytes)", 0.625), ("3 s", 3.0), ("whole", double.MaxValue) })
            {
                int correct = 0, n = 0;
                var answers = new Dictionary<string, int> { ["en"] = 0, ["zh"] = 0, ["und"] = 0 };
                var right = new List<float>();
                var bad = new List<float>();
                double audio = 0, busy = 0;
                foreach (var clip in group)
                {
                    var length = (int)Math.Min(clip.Samples.Length, seconds * 16000);
                    var cut = clip.Samples.AsSpan(0, length).ToArray();
                    var watch = Stopwatch.StartNew();
                    var result = Identify(engine, cut);
                    busy += watch.Elapsed.TotalSeconds;
                    audio += length / 16000.0;
                    n++;
                    answers[result.Text] = answers.GetValueOrDefault(result.Text) + 1;
                    if (result.Text == clip.Expected)
                    {
                        correct++;
                        right.Add(result.Confidence ?? 0);
                    }
                    else
                    {
                        bad.Add(result.Confidence ?? 0);
                    }
                    if (args.Get("verbose") is not null)
                    {
                        var enShare = result.Text == "en" ? result.Confidence : 1 - result.Confidence;
                        wrong.Add($"{clip.Expected} {label} {clip.Name}: en-share {enShare:F2}");
                    }
                }
                Console.WriteLine($"| {group.Key} | {label} | {n} | {correct} | {100.0 * correct / n:F0}% | {answers["en"]} / {answers["zh"]} / {answers["und"]} | " +
                    $"{(right.Count > 0 ? right.Average().ToString("F2") : "-")} / {(bad.Count > 0 ? bad.Average().ToString("F2") : "-")} | {busy / audio:F3} |");
            }
        foreach (var line in wrong) Console.WriteLine(line);
        return 0;
    }

    private static RecognitionEvent Identify(IRecognitionEngine engine, float[] audio)
    {
        using var stream = engine.CreateStream();
        var events = new List<RecognitionEvent>();
        for (var offset = 0; offset < audio.Length; offset += 1600)
            stream.AcceptAudio(audio.AsSpan(offset, Math.Min(1600, audio.Length - offset)), events);
        stream.Finish(events);
        return events.Single(e => e.Kind == RecognitionEventKind.Language);
    }
}
