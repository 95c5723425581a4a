using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ParticleGrid.Host.Api;

/// <summary>
/// The QA web UI: static files compiled into this assembly (wwwroot), served by the host itself, no build step.
/// They hold no data (every figure comes from the API with the user's token), so they are served without one:
/// the login page is the app's first view.
/// </summary>
public static class UserInterface
{
    private static readonly Assembly Assembly = typeof(UserInterface).Assembly;
    private const string Prefix = "ParticleGrid.Host.wwwroot.";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8", [".js"] = "text/javascript; charset=utf-8", [".mjs"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8", [".svg"] = "image/svg+xml", [".png"] = "image/png", [".ico"] = "image/x-icon",
    };

    public static WebApplication MapUserInterface(this WebApplication app)
    {
        app.MapGet("/", () => File("index.html")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/ui/{**path}", (string path) => File(path)).AllowAnonymous().ExcludeFromDescription();
        foreach (string file in Assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..]))
        {
            if (!file.Contains('/')) app.MapGet($"/{file}", () => File(file)).AllowAnonymous().ExcludeFromDescription();
        }
        return app;
    }

    private static IResult File(string path)
    {
        if (path.Contains("..", StringComparison.Ordinal)) return Results.NotFound();
        var stream = Assembly.GetManifestResourceStream(Prefix + path.Replace('\\', '/'));
        if (stream is null) return Results.NotFound(new { error = $"no such page: {path}" });
        string type = ContentTypes.GetValueOrDefault(Path.GetExtension(path), "application/octet-stream");
        return Results.Stream(stream, type);
    }
}
