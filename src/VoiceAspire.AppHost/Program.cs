using VoiceAspire.AppHost.Hosting;

// The whole stack, declared the way an Aspire AppHost declares it (StackHost stands in for DistributedApplication).
// `dotnet run --project src/VoiceAspire.AppHost -c Release -- --help` lists the options; docs/apphost.md explains them.
var builder = StackHost.CreateBuilder(args);

var cache = builder.AddRedis("cache");

var inference = builder.AddProject<Projects.VoiceAspire_Inference>("inference")
    .WithReplicas(1) // --replicas inference=N overrides
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.VoiceAspire_Api>("api")
    .WithReplicas(1) // --replicas api=N overrides; several sit behind a round-robin proxy on --api-port
    .WithReference(inference)
    .WithReference(cache)
    .WaitFor(inference)
    .WaitFor(cache)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoint(port: builder.Options.ApiPort);

builder.Build().Run();
