using System.Text.Json;

namespace ParticleGrid.Cli.Tests;

/// <summary>
/// `particlegrid bench site` at CI's size: it fills a SQLite store (checked by store verify's recount), serves it with the
/// real host, times each QA request over HTTP while a real ingest client sends a run, and writes every measurement.
/// Figures are not asserted (a benchmark, not a timed test); that each was measured on what the bench stored is.
/// </summary>
public sealed class SiteBenchCommandTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("pg-cli-bench-site-").FullName;

    [Fact]
    public void Bench_site_at_a_tiny_size_measures_every_request_and_writes_json()
    {
        string json = Path.Combine(folder, "site.json");
        var result = ParticleGridProcess.Run("bench", "site", "--lots", "3", "--particles-per-lot", "50", "--client-run-particles", "200",
            "--samples", "5", "--json", json);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("verify: 4 lots, 1650 particles recounted; 0 difference(s)", result.Error);
        Assert.Contains("Targets:", result.Output);
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var root = report.RootElement;

        var store = root.GetProperty("store");
        Assert.Equal("sqlite", store.GetProperty("kind").GetString());
        Assert.Equal((3, 50, 1500, 1650L), (store.GetProperty("lots").GetInt32(), store.GetProperty("particlesPerLot").GetInt32(),
            store.GetProperty("bigLotParticles").GetInt32(), store.GetProperty("particles").GetInt64()));
        Assert.Equal(0, store.GetProperty("verifyDifferences").GetInt32());

        foreach (string name in new[] { "lotList", "lotProfileSmall", "lotProfileBig", "particlePage" })
        {
            var figures = root.GetProperty(name);
            Assert.Equal(5, figures.GetProperty("samples").GetInt32());
            Assert.InRange(figures.GetProperty("p50Ms").GetDouble(), 0.01, figures.GetProperty("p99Ms").GetDouble());
        }
        // The list holds the bench's lots, the big one and the client's; each profile counts what was stored in its lot.
        Assert.Equal(5, root.GetProperty("lotList").GetProperty("items").GetInt32());
        Assert.Equal(50, root.GetProperty("lotProfileSmall").GetProperty("lotParticles").GetInt64());
        Assert.Equal(1500, root.GetProperty("lotProfileBig").GetProperty("lotParticles").GetInt64());

        var export = root.GetProperty("export");
        Assert.Equal(1500, export.GetProperty("rows").GetInt64());
        Assert.True(export.GetProperty("rowsPerSecond").GetDouble() > 0);
        Assert.True(export.GetProperty("serverRssPeakMiB").GetDouble() > 0);

        Assert.Equal("BENCH-FC-1:client-run", root.GetProperty("ingest").GetProperty("runId").GetString());
        var client = root.GetProperty("ingestClient");
        Assert.Equal(200, client.GetProperty("particles").GetInt32());
        // A real process's peak: more than the runtime alone, far less than a host with its networks.
        Assert.InRange(client.GetProperty("peakRssMiB").GetDouble(), 20, 1024);
        Assert.True(root.GetProperty("serverPeakRssMiB").GetDouble() > client.GetProperty("peakRssMiB").GetDouble());
        Assert.Equal(6, root.GetProperty("targets").GetArrayLength());
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
