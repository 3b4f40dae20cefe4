// Placeholder until the AppHost issue: the orchestrator that starts Redis, Inference and Api.
Console.WriteLine("VoiceAspire.AppHost: not implemented yet. Run Inference directly: dotnet run --project src/VoiceAspire.Inference");
return 1;
