using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace VoiceAspire.Dashboard.Access;

/// <summary>
/// Browser access with <see cref="DashboardOptions.BrowserToken"/>: the first visit carries <c>?t=token</c>, which is
/// exchanged for an HttpOnly, SameSite=Strict cookie and removed from the address bar (redirect); every other request
/// without the cookie gets 401. The OTLP endpoints are not covered: they have their own key (x-otlp-api-key).
/// </summary>
internal sealed class BrowserTokenMiddleware(RequestDelegate next, string token)
{
    public const string CookieName = "voiceaspire-dashboard";
    public const string QueryKey = "t";
    private readonly byte[] _tokenHash = SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/v1"))
        {
            await next(context);
            return;
        }
        if (context.Request.Query.TryGetValue(QueryKey, out var given) && Matches(given.ToString()))
        {
            context.Response.Cookies.Append(CookieName, token, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = "/",
            });
            var query = context.Request.Query.Where(q => q.Key != QueryKey).ToDictionary(q => q.Key, q => q.Value.ToString());
            context.Response.Redirect(QueryHelpers.AddQueryString(context.Request.PathBase + context.Request.Path, query!));
            return;
        }
        if (context.Request.Cookies.TryGetValue(CookieName, out var cookie) && Matches(cookie))
        {
            await next(context);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync("401: open the dashboard with the link the AppHost printed (…?t=<token>).", context.RequestAborted);
    }

    private bool Matches(string value) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(value)), _tokenHash);
}
