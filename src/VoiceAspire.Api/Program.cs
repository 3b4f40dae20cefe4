// The public edge. Its session pipeline and protocol dialects arrive with the Api issue; today it
// only carries the service defaults (telemetry, health, discovery of the Inference service).
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
