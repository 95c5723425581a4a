using System.Net.Http.Json;
using ParticleGrid.Abstractions;
using ParticleGrid.Cli.Ingestion;
using ParticleGrid.Ingestion;
using ParticleGrid.Domain;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>
/// One embedded host for the operations tests, started on first use and stopped when the test class ends. It has
/// done what a production silo does before anyone looks at its dashboards: an Orleans client (the one
/// <c>particlegrid ingest --cluster</c> uses) connected through the gateway and sent a run whose last particle is a
/// corrupt image (so particlegrid_particles_failed_total exists), and an instrument posted a batch over HTTP with one
/// image that is not base64 (so particlegrid_particles_rejected_total exists).
/// </summary>
public sealed class OperationsHost : IAsyncLifetime
{
    public const string GrpcLot = "LOT-OPS";
    public const string HttpLot = "LOT-OPS-HTTP";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TemporaryDirectory _data = new();
    private RunningHost? _host;
    private ClusterConnection? _client;
    private string? _firstScrape;

    public RunningHost Host => _host ?? throw new InvalidOperationException("call StartAsync first");

    /// <summary>The host's /metrics after the work above, every particlegrid_ series it should have present.</summary>
    public string Metrics => _firstScrape ?? throw new InvalidOperationException("call StartAsync first");

    /// <summary>"127.0.0.1:port" of the host's metrics port, as a Prometheus scrape target.</summary>
    public string MetricsAddress => $"127.0.0.1:{Host.MetricsPort}";

    public async Task<OperationsHost> StartAsync(TinyModels models)
    {
        await _gate.WaitAsync();
        try
        {
            if (_firstScrape is not null) return this;
            _host = await RunningHost.StartAsync(o =>
            {
                o.DataDirectory = _data.Path;
                o.Worker.MaxBatchSize = 8;
                o.Worker.MaxQueueDelayMs = 10;
            });
            await TestClusters.ActivateAsync(_host.Grains, models.Directories);

            // Through the gateway, as `particlegrid ingest --cluster` does: 12 good particles and a corrupt one.
            _client = await ClusterConnection.OpenAsync($"127.0.0.1:{_host.GatewayPort}", _ => throw new InvalidOperationException("no host"),
                CancellationToken.None, new ClientCredentials(_host.InstrumentToken, new TlsSettings()));
            var run = _client.Grains.GetGrain<IInstrumentRunGrain>("ops-run-1");
            await run.Start(new RunDescriptor(GrpcLot, "FC-OPS", 0.5));
            var particles = SimulatedInstrument.Particles("p", 12, 21).ToList();
            particles.Add(new ParticleImage("corrupt", [0x89, 0x50, 0x4E, 0x47, 1, 2, 3], 12));
            var receipts = await SimulatedInstrument.SubmitAsync(run, particles, batchSize: 7);
            Assert.Equal(1, receipts.Sum(r => r.Failed));

            // Over HTTP, as an instrument without .NET does: one good image and one that is not base64.
            var started = await _host.Http.PostAsJsonAsync("/runs/ops-http-1", new { lotId = HttpLot, instrumentId = "MFI-OPS", analysedVolumeMl = 0.25 });
            Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
            var (png, _) = TinyModels.Particle(ParticleType.Protein, 77);
            var posted = await _host.Http.PostAsJsonAsync("/runs/ops-http-1/batches/b1", new
            {
                particles = new object[]
                {
                    new { particleId = "good", image = Convert.ToBase64String(png) },
                    new { particleId = "bad", image = "not base64 !" },
                },
            });
            string body = await posted.Content.ReadAsStringAsync();
            Assert.True(posted.IsSuccessStatusCode, body);
            Assert.Contains("\"bad\"", body);

            // The exporter caches a scrape for a moment: read until what was just done is in it.
            string[] expected = ["particlegrid_particles_classified_total", "particlegrid_particles_failed_total", "particlegrid_particles_rejected_total",
                                 "particlegrid_batch_size_bucket", "particlegrid_model_set_info"];
            string metrics = "";
            for (var deadline = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < deadline; await Task.Delay(200))
            {
                metrics = await ScrapeAsync();
                if (expected.All(name => metrics.Contains(name + "{", StringComparison.Ordinal))) break;
            }
            _firstScrape = metrics;
            return this;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>GET /metrics on the metrics port without a token, as Prometheus does.</summary>
    public async Task<string> ScrapeAsync()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri($"http://{MetricsAddress}"), Timeout = TimeSpan.FromSeconds(10) };
        var response = await anonymous.GetAsync("/metrics");
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /metrics without a token: {(int)response.StatusCode} {text}");
        return text;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_client is not null) await _client.DisposeAsync();
        if (_host is not null) await _host.DisposeAsync();
        _data.Dispose();
        _gate.Dispose();
    }
}
