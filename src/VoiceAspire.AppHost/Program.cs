using System.Security.Cryptography;
using VoiceAspire.AppHost.Hosting;

// The whole stack, declared the way an Aspire AppHost declares it (StackHost stands in for DistributedApplication).
// `dotnet run --project src/VoiceAspire.AppHost -c Release -- --help` lists the options; docs/apphost.md explains them.
var builder = StackHost.CreateBuilder(args);

var cache = builder.AddRedis("cache");

// Inference publishes its load in Redis (heartbeats) for the Api to balance on; it does not wait for Redis to start.
var inference = builder.AddProject<Projects.VoiceAspire_Inference>("inference")
    .WithReplicas(1) // --replicas inference=N overrides
    .WithReference(cache)
    .WithHttpHealthCheck("/health");

// Transcripts in Redis are encrypted at rest (AES-256-GCM). This Redis keeps nothing across runs, so a per-run
// key is enough; set Sessions__EncryptionKey yourself to keep one (every Api replica gets the same key).
var transcriptKey = Environment.GetEnvironmentVariable("Sessions__EncryptionKey") is { Length: > 0 } configured
    ? configured
    : Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

builder.AddProject<Projects.VoiceAspire_Api>("api")
    .WithReplicas(1) // --replicas api=N overrides; several sit behind a round-robin proxy on --api-port
    .WithReference(inference)
    .WithReference(cache)
    .WithEnvironment("Sessions__EncryptionKey", transcriptKey)
    .WaitFor(inference)
    .WaitFor(cache)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoint(port: builder.Options.ApiPort);

builder.Build().Run();
