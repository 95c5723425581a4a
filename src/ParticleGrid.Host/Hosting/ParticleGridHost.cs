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
        if (urls is not null) builder.WebHost.UseUrls(urls);
        if (options.Mode == HostingMode.Cluster)
        {
            await OrleansSchema.EnsureAsync(options.PostgresConnectionString!);
        }

        builder.UseOrleans(silo => silo.AddParticleGrid(options, workerRuntime));
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        builder.Services.AddParticleGridAccessControl();
        builder.Services.AddOpenApi();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(Grains.ParticleGridMetrics.MeterName, "Microsoft.Orleans", "System.Runtime", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter());
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = IngestApi.MaxBatchBytes);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        customize?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler(errors => errors.Run(ApiErrors.WriteAsync));
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi().RequireAuthorization();
        app.MapPrometheusScrapingEndpoint().AllowAnonymous();   // /metrics, for Prometheus inside the cluster
        app.MapParticleGridApi();
        return app;
    }
}
