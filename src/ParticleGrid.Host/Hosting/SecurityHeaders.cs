using Microsoft.AspNetCore.Builder;

namespace ParticleGrid.Host.Hosting;

/// <summary>
/// Headers every response carries, so that a browser treats the QA web UI and the API as strictly as they allow:
/// scripts, styles and connections only from this host (the UI has no inline script or style: app.js sets sizes
/// through the DOM, which CSP allows), images also from blob: (particle images are fetched with the token and
/// shown through blob URLs) and data: (the empty favicon); no framing (clickjacking); no MIME sniffing; no
/// Referer leaving the site (URLs carry lot ids).
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; " +
        "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        // Set before the response starts (an endpoint, an error handler or a 401 may start it).
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";   // frame-ancestors for browsers that predate CSP 2
        headers["Referrer-Policy"] = "no-referrer";
        return next(http);
    });
}
