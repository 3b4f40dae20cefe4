using VoiceAspire.Bench;

// VoiceAspire benchmarks. Usage:
//   dotnet run -c Release --project bench/VoiceAspire.Bench -- engines [--streams 1,4,8] [--engines id,...] [--repeat N]
//   dotnet run -c Release --project bench/VoiceAspire.Bench -- wake [--engines id,...] [--repeat 3] [--streams 1,2,4]
//   dotnet run -c Release --project bench/VoiceAspire.Bench -- latency [--streams 1,10,50] [--engine sherpa-onnx|pocketsphinx] [--passes 2]
//   dotnet run -c Release --project bench/VoiceAspire.Bench -- redis [--inflight 1,16] [--seconds 2] [--size 100]
//   dotnet run -c Release --project bench/VoiceAspire.Bench -- language [--engine local-lid] [--verbose]
//   dotnet run -c Release --project bench/VoiceAspire.Bench -- cluster [--streams 50] [--seconds 120] [--kill-at 60] [--engine sherpa-onnx]
var command = args.FirstOrDefault() ?? "engines";
var options = BenchArgs.Parse(args.Skip(1).ToArray());
return command switch
{
    "engines" => await EngineBenchmark.RunAsync(options),
    "latency" => await LatencyBenchmark.RunAsync(options),
    "transcribe" => await TranscribeCommand.RunAsync(options),
    "wake" => await WakeBenchmark.RunAsync(options),
    "language" => await LanguageBenchmark.RunAsync(options),
    "redis" => await RedisBenchmark.RunAsync(options),
    "cluster" => await ClusterBenchmark.RunAsync(options),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: VoiceAspire.Bench engines [--streams 1,4,8] [--engines id,...] [--repeat N]");
    Console.Error.WriteLine("       VoiceAspire.Bench latency [--streams 1,10,50] [--engine sherpa-onnx|pocketsphinx] [--passes 2]");
    Console.Error.WriteLine("       VoiceAspire.Bench wake [--engines openwakeword,sherpa-kws:<model>] [--repeat 3] [--streams 1,2,4]");
    Console.Error.WriteLine("       VoiceAspire.Bench redis [--inflight 1,16] [--seconds 2] [--size 100]");
    Console.Error.WriteLine("       VoiceAspire.Bench language [--engine local-lid] [--verbose]");
    Console.Error.WriteLine("       VoiceAspire.Bench cluster [--streams 50] [--seconds 120] [--kill-at 60 (0: no kill)] [--engine sherpa-onnx]");
    Console.Error.WriteLine("       VoiceAspire.Bench transcribe --file audio.wav [--url ws://127.0.0.1:5000/listen?engine=pocketsphinx] [--realtime]");
    return 2;
}
