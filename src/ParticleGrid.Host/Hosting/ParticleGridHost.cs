using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ParticleGrid.Host.Api;
using ParticleGrid.Host.Auth;
using OpenTelemetry.Metrics;
using ParticleGrid.Host.Persistence;

namespace ParticleGrid.Host.Hosting;

/// <summary>
/// Builds the ParticleGrid host: an Orleans silo with its HTTP API in one process. Configuration comes from
/// appsettings, <c>PARTICLEGRID__*</c> environment variables, then <paramref name="configure"/> (command-line options).
/// A host with the worker role needs <c>workerRuntime</c> (the networks); a gateway host goes without.
/// </summary>
public static class ParticleGridHost
{
    public static async Task<WebApplication> BuildAsync(string[] args, Action<ParticleGridOptions>? configure = null, string? urls = null,
        Action<WebApplicationBuilder>? customize = null, Grains.Workers.IWorkerRuntimeFactory? workerRuntime = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        var options = builder.Configuration.GetSection(ParticleGridOptions.Section).Get<ParticleGridOptions>() ?? new ParticleGridOptions();
        configure?.Invoke(options);
        options.Validate();
        urls ??= builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
        if (options.MetricsPort is { } metricsPort) urls = WithMetricsUrl(urls, metricsPort);
        if (urls is not null) builder.WebHost.UseUrls(urls);
        if (options.Mode == HostingMode.Cluster)
        {
            await OrleansSchema.EnsureAsync(options.PostgresConnectionString!);
        }

        builder.UseOrleans(silo => silo.AddParticleGrid(options, workerRuntime));
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        builder.Services.AddParticleGridAccessControl();
        builder.Services.AddOpenApi();
        builder.Services.AddSingleton<OrleansMetricsInBaseUnits>();
        builder.Services.AddHostedService(services => services.GetRequiredService<OrleansMetricsInBaseUnits>());
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(Grains.ParticleGridMetrics.MeterName, "Microsoft.Orleans", OrleansMetricsInBaseUnits.MeterName, "System.Runtime",
                "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPromtoolCleanViews()
            .AddPrometheusExporter());
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Small for every route; the batch route raises it for itself (IngestApi, RequestSizeLimit).
            kestrel.Limits.MaxRequestBodySize = options.Limits.MaxBodyBytes;
            if (options.Https.Enabled)
            {
                var certificate = options.Https.Load();
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
            }
        });
        // A body that is not what a route expects (bad JSON, too large) reaches ApiErrors, which says why, instead of
        // an empty 400.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        customize?.Invoke(builder);

        var app = builder.Build();
        app.UseSecurityHeaders();
        if (options.MetricsPort is { } metricsOnly)
        {
            // The metrics port serves /metrics and nothing else: the API stays on the port its policies are written for.
            app.Use((http, next) =>
            {
                if (http.Connection.LocalPort != metricsOnly || http.Request.Path.Equals("/metrics", StringComparison.OrdinalIgnoreCase)) return next(http);
                http.Response.StatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        }
        app.UseExceptionHandler(errors => errors.Run(ApiErrors.WriteAsync));
        app.UseAuthentication();
        app.UseAuthorization();
        // After authorization: only a caller with a token gets its refused body read to the end (see ApiErrors).
        app.UseDeclaredBodyLimit();
        app.MapOpenApi().RequireAuthorization();
        // /metrics only on the metrics port (the public port answers 404): Prometheus inside the site scrapes it
        // without a token, and its lot and instrument labels stay off the port users and instruments reach.
        if (options.MetricsPort is { } port) app.MapPrometheusScrapingEndpoint().RequireHost($"*:{port}").AllowAnonymous();
        app.MapParticleGridApi();
        return app;
    }

    /// <summary>
    /// <paramref name="urls"/> (Kestrel's default when null) and an http:// URL on <paramref name="port"/> at the first
    /// URL's host, so that a host serving on loopback keeps its metrics on loopback too.
    /// </summary>
    internal static string WithMetricsUrl(string? urls, int port)
    {
        string[] all = (urls ?? "http://localhost:5000").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string host = all.Length > 0 && Uri.TryCreate(all[0].Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"), UriKind.Absolute, out var first)
            ? first.Host : "localhost";
        if (all.Any(u => Uri.TryCreate(u.Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"), UriKind.Absolute, out var uri) && uri.Port == port))
            throw new ArgumentException($"the metrics port {port} is also an HTTP port ({urls}): metrics are served on a port of their own");
        return string.Join(';', [.. all, $"http://{host}:{port}"]);
    }
}
