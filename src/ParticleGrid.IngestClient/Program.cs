using System.CommandLine;
using ParticleGrid.Ingestion;
using ParticleGrid.Ingestion.Commands;
using ParticleGrid.Abstractions;

// particlegrid-ingest: for an instrument PC. The CLI's `ingest` and `watch` (same options, output and exit codes),
// sending to a running site; unlike the CLI it cannot start an embedded host, as it carries no networks.
var site = new GatewaySite();
var root = new RootCommand("ParticleGrid's instrument client: sends FlowCAM, MFI and image-folder exports to a running ParticleGrid site.")
{
    IngestCommand.Create(site),
    WatchCommand.Create(site),
};
return await root.Parse(args).InvokeAsync();

/// <summary>Without --cluster, the site on this machine (its gateway port); with none running, one line saying what to give.</summary>
internal sealed class GatewaySite : IngestSite
{
    public override string ClusterDefault => $"(default: the site on this machine, 127.0.0.1:{SiteDefaults.GatewayPort})";

    public override Task<ClusterConnection> OpenAsync(string? cluster, ParseResult parse, CancellationToken cancellation) =>
        ClusterConnection.OpenAsync(cluster, _ => throw new ArgumentException(
            $"no site runs on this machine (nothing listens on 127.0.0.1:{SiteDefaults.GatewayPort}): give --cluster with a gateway silo's host:port, " +
            "e.g. --cluster gateway1:30000"), cancellation);
}
