using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ParticleGrid.Abstractions;
using ParticleGrid.Grains;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Grains.Workers;
using ParticleGrid.Host.Hosting;
using ParticleGrid.Serving;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>How many particles a second the gateway keeps N stand-in workers fed with.</summary>
public sealed record OrleansLayerResult(int Workers, double BatchLatencyMs, int WorkerBatchSize, int Particles, double Seconds, double ImagesPerSecond,
    double WorkersCouldDo);

/// <summary>
/// The Orleans layer alone: one gateway silo and N worker silos in this process (localhost clustering); each worker
/// stands in for a GPU that takes a fixed time per batch, whatever is in it. Runs, placement, the batcher, retries and
/// the store are all real; only the networks are not. The ceiling is N x batch size / latency.
/// </summary>
public static class OrleansLayerBenchmark
{
    public static async Task<IReadOnlyList<OrleansLayerResult>> RunAsync(string workFolder, IReadOnlyList<int> workerCounts, int particles,
        TimeSpan batchLatency, int workerBatchSize, Action<string>? progress, CancellationToken cancellation)
    {
        var results = new List<OrleansLayerResult>();
        foreach (int workers in workerCounts)
        {
            string data = Path.Combine(workFolder, $"orleans-{workers}");
            var hosts = new List<IHost>();
            try
            {
                int[] ports = EndToEndBenchmark.FreePorts(2 * (workers + 1));
                var primary = new IPEndPoint(IPAddress.Loopback, ports[0]);
                hosts.Add(await StartSiloAsync("gateway", data, ports[0], ports[1], null, batchLatency, workerBatchSize, cancellation));
                for (int w = 1; w <= workers; w++)
                    hosts.Add(await StartSiloAsync("worker", data, ports[2 * w], ports[2 * w + 1], primary, batchLatency, workerBatchSize, cancellation));

                var gateway = hosts[0].Services;
                var silos = gateway.GetRequiredService<WorkerSilos>();
                for (int i = 0; i < 200 && silos.Active().Count < workers; i++) await Task.Delay(100, cancellation);
                var grains = gateway.GetRequiredService<IGrainFactory>();
                int runs = Math.Max(4, 2 * workers);
                int perRun = particles / runs;
                byte[] image = [1, 2, 3, 4, 5, 6, 7, 8];
                var clock = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, runs).Select(async r =>
                {
                    var run = grains.GetGrain<IInstrumentRunGrain>($"layer-{workers}-{r}");
                    await run.Start(new RunDescriptor("LOT-LAYER", $"FAKE-{r}", 1.0, perRun));
                    using var inFlight = new SemaphoreSlim(8);
                    await Task.WhenAll(Enumerable.Range(0, perRun).Chunk(64).Select(async (chunk, b) =>
                    {
                        await inFlight.WaitAsync(cancellation);
                        try { await run.SubmitBatch($"b{b}", [.. chunk.Select(i => new ParticleImage($"{i:D7}", image, 10))]); }
                        finally { inFlight.Release(); }
                    }));
                }));
                double seconds = clock.Elapsed.TotalSeconds;
                int total = perRun * runs;
                double ceiling = workers * workerBatchSize / batchLatency.TotalSeconds;
                results.Add(new OrleansLayerResult(workers, batchLatency.TotalMilliseconds, workerBatchSize, total, seconds, total / seconds, ceiling));
                progress?.Invoke($"orleans layer, {workers} worker(s): {total / seconds:F0} particles/s (the workers could take {ceiling:F0}/s)");
            }
            finally
            {
                foreach (var host in Enumerable.Reverse(hosts))
                {
                    await host.StopAsync(CancellationToken.None);
                    host.Dispose();
                }
            }
        }
        return results;
    }

    private static async Task<IHost> StartSiloAsync(string roles, string data, int siloPort, int gatewayPort, IPEndPoint? primary,
        TimeSpan batchLatency, int workerBatchSize, CancellationToken cancellation)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        var options = new ParticleGridOptions
        {
            DataDirectory = data,
            Roles = roles,
            Worker = { Device = "cpu", MaxBatchSize = workerBatchSize, MaxQueueDelayMs = 2, QueueCapacity = 8 * workerBatchSize },
            Runs = { ParticlesPerWorkerCall = 64 },
        };
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, primary, options.ServiceId, options.ClusterId);
            silo.AddParticleGrid(options, new StandInRuntime(batchLatency), configureClustering: false);
        });
        var host = builder.Build();
        await host.StartAsync(cancellation);
        return host;
    }

    /// <summary>Puts a <see cref="StandInWorker"/> in a worker silo in place of the networks.</summary>
    private sealed class StandInRuntime(TimeSpan batchLatency) : IWorkerRuntimeFactory
    {
        public string DescribeDevice(WorkerOptions options) => "cpu";

        public void AddTo(IServiceCollection services) => services.AddSingleton<IWorkerRuntime>(sp => new StandInWorker(
            sp.GetRequiredService<WorkerOptions>(), sp.GetRequiredService<ParticleGridMetrics>(), sp.GetRequiredService<ILogger<EnsembleRuntime>>(), batchLatency));
    }

    /// <summary>A worker whose "device" takes a fixed time per batch and calls every particle protein.</summary>
    private sealed class StandInWorker : EnsembleRuntime
    {
        private readonly DynamicBatcher<ParticleImage, ParticleVerdict> _device;

        public StandInWorker(WorkerOptions options, ParticleGridMetrics metrics, ILogger<EnsembleRuntime> logger, TimeSpan latency)
            : base(options, metrics, logger)
        {
            string sha = new('0', 64);
            _device = new DynamicBatcher<ParticleImage, ParticleVerdict>(options.Batching, batch =>
            {
                Thread.Sleep(latency);
                return [.. batch.Select(p => new ParticleVerdict(p.ParticleId, sha, "protein", 1.0, false, null, "stand-in", [], null))];
            }, "stand-in-device");
        }

        public override async Task<IReadOnlyList<ParticleVerdict>> ClassifyAsync(ClassificationRequest request)
        {
            try { return await _device.EnqueueAsync(request.RunId, request.Particles); }
            catch (BatcherFullException e) { throw new WorkerBusyException(e.Message, e.RetryAfterMs); }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _device.Dispose();
            base.Dispose(disposing);
        }
    }
}
