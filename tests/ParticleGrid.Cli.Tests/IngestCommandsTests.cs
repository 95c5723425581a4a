using ParticleGrid.Cli.Ingestion;
using ParticleGrid.Host.Hosting;
using ParticleGrid.Ingestion;
using ParticleGrid.Ingestion.Commands;
using ParticleGrid.Abstractions;

namespace ParticleGrid.Cli.Tests;

/// <summary>
/// ingest and watch live in ParticleGrid.Ingestion, shared by the CLI and the instrument client (particlegrid-ingest),
/// which cannot reference the host: what the two must agree on is held here, where both are visible.
/// </summary>
public sealed class IngestCommandsTests
{
    [Fact]
    public void The_client_connects_with_the_silos_cluster_service_and_gateway_port()
    {
        var silo = new ParticleGridOptions();
        Assert.Equal((silo.ClusterId, silo.ServiceId, silo.GatewayPort), (SiteDefaults.ClusterId, SiteDefaults.ServiceId, SiteDefaults.GatewayPort));
    }

    [Fact]
    public void The_cli_keeps_its_options_and_the_client_has_them_all_but_the_embedded_hosts()
    {
        static string[] Options(System.CommandLine.Command command) => [.. command.Options.Select(o => o.Name).Where(n => n != "--help")];
        var cli = new[] { IngestCommand.Create(EmbeddedIngestSite.Instance), WatchCommand.Create(EmbeddedIngestSite.Instance) };
        Assert.Equal(["--lot", "--instrument", "--sample", "--um-per-pixel", "--volume-ml", "--container-ml", "--cluster", "--site", "--data-dir", "--json",
            "--retry-for", "--retry-failed"], Options(cli[0]));
        Assert.Equal(["--cluster", "--site", "--data-dir", "--settle-seconds", "--parallel", "--once", "--retry-for"], Options(cli[1]));

        var client = new ClientSite();
        Assert.Equal([.. Options(cli[0]).Where(o => o != "--data-dir")], Options(IngestCommand.Create(client)));
        Assert.Equal([.. Options(cli[1]).Where(o => o != "--data-dir")], Options(WatchCommand.Create(client)));
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("2m", 120)]
    [InlineData("1h", 3600)]
    [InlineData("45", 45)]
    [InlineData("1.5m", 90)]
    public void Retry_for_takes_seconds_minutes_or_hours(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), SiteOutages.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-5s")]
    [InlineData("2d")]
    public void Retry_for_refuses_what_is_not_a_duration(string text) => Assert.Null(SiteOutages.Parse(text));

    /// <summary>A site with no options of its own, as the instrument client's.</summary>
    private sealed class ClientSite : IngestSite
    {
        public override string ClusterDefault => "(default: none)";

        public override Task<ClusterConnection> OpenAsync(string? cluster, System.CommandLine.ParseResult parse, CancellationToken cancellation) =>
            throw new NotSupportedException();
    }
}
