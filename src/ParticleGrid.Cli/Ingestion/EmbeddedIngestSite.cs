using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ParticleGrid.Host.Hosting;
using ParticleGrid.Ingestion;

namespace ParticleGrid.Cli.Ingestion;

/// <summary>
/// The CLI's ingest and watch: without --cluster they send to this machine's running host, or, when none is running,
/// to an embedded host started in this process on --data-dir. That host runs the workers and so needs the networks,
/// which is why this part lives here and not in ParticleGrid.Ingestion (the instrument client has no networks).
/// </summary>
public sealed class EmbeddedIngestSite : IngestSite
{
    public static EmbeddedIngestSite Instance { get; } = new();

    private const string DataOption = "--data-dir";

    public override string ClusterDefault => "(default: this machine's embedded host)";

    public override IReadOnlyList<Option> CreateOptions() =>
    [
        new Option<DirectoryInfo>(DataOption) { Description = "The embedded host's data directory, when none is running", DefaultValueFactory = _ => new DirectoryInfo("particlegrid-data") },
    ];

    public override Task<ClusterConnection> OpenAsync(string? cluster, ParseResult parse, CancellationToken cancellation) =>
        OpenAsync(cluster, parse.GetValue<DirectoryInfo>(DataOption)!.FullName, cancellation);

    public override Task<int> Guard(Func<Task<int>> body) => CommandErrors.Guard(body);

    /// <param name="cluster">"host:port[,host:port...]" of gateway silos; null for this machine's embedded host.</param>
    public static Task<ClusterConnection> OpenAsync(string? cluster, string dataDirectory, CancellationToken cancellation) =>
        ClusterConnection.OpenAsync(cluster, async started =>
        {
            var app = await ParticleGridHost.BuildAsync([], o => o.DataDirectory = dataDirectory, "http://127.0.0.1:0",
                builder => { builder.Logging.SetMinimumLevel(LogLevel.Warning); builder.Logging.AddFilter("Orleans", LogLevel.Error); },
                new Serving.WorkerRuntime());
            await app.StartAsync(started);
            return new ClusterConnection(app, app.Services.GetRequiredService<IGrainFactory>(),
                $"an embedded host started here on {Path.GetFullPath(dataDirectory)}");
        }, cancellation);
}
