using VoiceAspire.Contracts.Inference;
using VoiceAspire.Tests.Support;

namespace VoiceAspire.Tests.Inference;

/// <summary>
/// A real Inference process configured with a corrupt model: sherpa-onnx would exit() on it, so
/// the service must refuse it with MODEL_INVALID and keep serving.
/// </summary>
public class BadModelProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("voiceaspire-badmodel-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_wrong_kind_model_gives_model_invalid_and_the_service_lives()
    {
        var model = Path.Combine(_dir, "broken-zipformer");
        Directory.CreateDirectory(model);
        foreach (var f in Directory.GetFiles(SharedData.ZhModelDir)) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        var decoder = Directory.GetFiles(model, "decoder*").Single();
        File.Copy(decoder, Directory.GetFiles(model, "encoder*").Single(), overwrite: true); // a decoder posing as the encoder

        await using var service = await ServiceProcess.StartAsync("VoiceAspire.Inference", new Dictionary<string, string>
        {
            ["Engines__SherpaOnnx__ModelPaths__0"] = model,
        });
        await using (var client = await InferenceStreamClient.ConnectAsync(InferenceStreamClient.BuildUri(service.BaseAddress, "sherpa-onnx:broken-zipformer", "bad-model-1")))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var error = Assert.Single(await InferenceFixture.ReadAllAsync(client, cts.Token));
            Assert.Equal(InferenceStreamProtocol.ErrorCodes.ModelInvalid, error.Code);
            Assert.True(error.Fatal);
            Assert.Contains("model_type", error.Message);
        }

        Assert.False(service.HasExited);
        using var http = service.CreateHttpClient();
        Assert.True((await http.GetAsync("/health")).IsSuccessStatusCode);
    }
}
