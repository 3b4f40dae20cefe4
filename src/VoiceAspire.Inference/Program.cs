using VoiceAspire.Inference;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddInference();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapInference();
app.Run();
