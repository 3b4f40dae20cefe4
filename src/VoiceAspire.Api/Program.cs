using VoiceAspire.Api;

// The public edge: client connections and protocol dialects over one session pipeline.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddVoiceApi();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapVoiceApi();
app.Run();
