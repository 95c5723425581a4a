using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ParticleGrid.Abstractions;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Host.Api;

/// <summary>The HTTP API: lots and runs for QA, workers for platform engineers, health for orchestrators.</summary>
public static class ParticleGridApi
{
    public static WebApplication MapParticleGridApi(this WebApplication app)
    {
        app.MapQaApi();
        app.MapUserInterface();

        var lots = app.MapGroup("/lots").RequireAuthorization(Auth.Policies.Read);
        lots.MapGet("/{lot}", async (string lot, IGrainFactory grains) =>
            await grains.GetGrain<ILotGrain>(lot).GetProfile() is { } profile
                ? Results.Ok(profile)
                : NotFound($"lot '{lot}' is not known: no run has been started for it and it was never described"));

        var runs = app.MapGroup("/runs");
        runs.MapGet("/{run}", async (string run, IGrainFactory grains) =>
            await grains.GetGrain<IInstrumentRunGrain>(run).GetStatus() is { State: not RunState.Unknown } status
                ? Results.Ok(status)
                : NotFound($"run '{run}' is not known: it was never started")).RequireAuthorization(Auth.Policies.Read);
        runs.MapIngest(app.Services.GetRequiredService<ParticleGridOptions>().Limits).RequireAuthorization(Auth.Policies.Ingest);

        // A dead worker is listed as unreachable, not a 500 (WorkersApi).
        app.MapGet("/workers", async (WorkerSilos workers, IGrainFactory grains) => Results.Ok(await WorkersApi.ListAsync(workers, grains)))
            .RequireAuthorization(Auth.Policies.Read);

        var health = app.MapGroup("/health").AllowAnonymous();
        health.MapGet("/live", () => Results.Ok(new { status = "live" }));
        health.MapGet("/startup", (SiloReadiness readiness) => readiness.HasStarted
            ? Results.Ok(new { status = "started" })
            : Results.Json(new { status = "starting" }, statusCode: StatusCodes.Status503ServiceUnavailable));
        health.MapGet("/ready", async (SiloReadiness readiness, Storage.IParticleStore store, IServiceProvider services, ILoggerFactory logs) =>
        {
            // A worker says what runs its networks, ready or not.
            var worker = services.GetService<Grains.Workers.IWorkerRuntime>() is { } ensemble
                ? new { engine = ensemble.Engine, device = ensemble.DeviceDescription, modelSet = ensemble.ActiveVersion }
                : null;
            if (!readiness.IsReady) return Results.Json(new { status = "not ready", reason = readiness.Reason, worker }, statusCode: StatusCodes.Status503ServiceUnavailable);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                await store.GetLotAsync("health-check", timeout.Token);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The cause goes to the log: an exception's text can name hosts, users and paths, and /health is anonymous.
                logs.CreateLogger("ParticleGrid.Health").LogWarning(e, "Not ready: the particle store ({Store}) is not reachable", store);
                return Results.Json(new { status = "not ready", reason = "the particle store is not reachable (the host's log says why)", worker },
                    statusCode: StatusCodes.Status503ServiceUnavailable);
            }
            return Results.Ok(new { status = "ready", worker });
        });
        return app;
    }

    private static IResult NotFound(string message) => Results.NotFound(new { error = message });
}
