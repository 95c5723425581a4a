using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Cli.Commands;

/// <summary>The options of commands that run the host (serve, demo); unset ones come from appsettings / PARTICLEGRID__*.</summary>
public sealed class HostCommandOptions
{
    public Option<DirectoryInfo?> DataDirectory { get; } = new("--data-dir") { Description = "Data directory (embedded store, grain state, cached models)" };
    public Option<string?> Urls { get; } = new("--urls") { Description = "Where HTTP listens (default http://127.0.0.1:5080)" };
    public Option<HostingMode?> Mode { get; } = new("--mode") { Description = "Embedded (one process, nothing installed) or Cluster (silos sharing PostgreSQL)" };
    public Option<string?> Roles { get; } = new("--roles") { Description = "gateway, worker or gateway,worker (cluster mode)" };
    public Option<string?> Postgres { get; } = new("--postgres") { Description = "PostgreSQL connection string (cluster mode)" };
    public Option<int?> SiloPort { get; } = new("--silo-port") { Description = "Orleans silo-to-silo port (default 11111)" };
    public Option<int?> GatewayPort { get; } = new("--gateway-port") { Description = "Orleans client gateway port (default 30000)" };
    public Option<int?> MetricsPort { get; } = new("--metrics-port") { Description = "Serve /metrics for Prometheus on this port only (default: not served)" };
    public Option<string?> Device { get; } = new("--device") { Description = "Where a worker runs the networks: auto, cpu or cuda" };
    public Option<string?> Engine { get; } = new("--engine") { Description = "What runs a worker's networks: auto (the fastest this build has for the device), onnxruntime or torchsharp" };
    public Option<bool> Verbose { get; } = new("--verbose") { Description = "Log at Information level (Orleans, ASP.NET Core, runs, workers)" };

    public HostCommandOptions(string defaultDataDirectory)
    {
        DataDirectory.DefaultValueFactory = _ => new DirectoryInfo(defaultDataDirectory);
        Device.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        Engine.AcceptOnlyFromAmong([.. Serving.Engines.InferenceEngines.Choices]);
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { DataDirectory, Urls, Mode, Roles, Postgres, SiloPort, GatewayPort, MetricsPort, Device, Engine, Verbose })
            command.Options.Add(option);
    }

    public string Url(ParseResult parse) => parse.GetValue(Urls) ?? "http://127.0.0.1:5080";

    /// <summary>
    /// Serves until Ctrl-C or SIGTERM. The host's console lifetime takes those signals itself (it signals "stopping"
    /// rather than cancelling the command), so both are watched.
    /// </summary>
    public static async Task WaitForCtrlCAsync(WebApplication app, CancellationToken cancellation)
    {
        try { await app.WaitForShutdownAsync(cancellation); }
        catch (OperationCanceledException) { }
        Console.WriteLine("stopping ...");
    }

    /// <summary>Builds the host with the command line's settings over the configuration's.</summary>
    public Task<WebApplication> BuildHostAsync(ParseResult parse) => ParticleGridHost.BuildAsync([], options =>
    {
        if (parse.GetValue(DataDirectory) is { } data) options.DataDirectory = data.FullName;
        if (parse.GetValue(Mode) is { } mode) options.Mode = mode;
        if (parse.GetValue(Roles) is { } roles) options.Roles = roles;
        if (parse.GetValue(Postgres) is { } postgres) options.PostgresConnectionString = postgres;
        if (parse.GetValue(SiloPort) is { } silo) options.SiloPort = silo;
        if (parse.GetValue(GatewayPort) is { } gateway) options.GatewayPort = gateway;
        if (parse.GetValue(MetricsPort) is { } metrics) options.MetricsPort = metrics;
        if (parse.GetValue(Device) is { } device) options.Worker.Device = device;
        if (parse.GetValue(Engine) is { } engine) options.Worker.Engine = engine;
    }, Url(parse), builder =>
    {
        // Orleans and ASP.NET Core log every start-up step at Information; the command prints what matters itself.
        // Orleans' own warnings at start (server GC, watchdog on a busy 2-core machine) are advice for operators.
        if (!parse.GetValue(Verbose))
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Orleans", LogLevel.Error);
        }
    }, new Serving.WorkerRuntime());
}
