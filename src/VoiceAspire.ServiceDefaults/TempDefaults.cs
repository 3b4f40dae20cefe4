// TEMPORARY until the ServiceDefaults branch merges.
using Microsoft.AspNetCore.Builder;
namespace Microsoft.Extensions.Hosting;
public static class TempServiceDefaults
{
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder b) where TBuilder : IHostApplicationBuilder { Microsoft.Extensions.DependencyInjection.HealthCheckServiceCollectionExtensions.AddHealthChecks(b.Services); return b; }
    public static WebApplication MapDefaultEndpoints(this WebApplication app) { app.MapHealthChecks("/health"); app.MapHealthChecks("/alive"); return app; }
}
