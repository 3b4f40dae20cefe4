using VoiceAspire.Inference;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddInference();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapInference();
app.Run();

/// <summary>Entry point, visible to tests that host the service in-process.</summary>
public partial class Program;
