using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ParticleGrid.Abstractions;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>The whole path through the embedded cluster, and the process's memory while it runs.</summary>
public sealed record EndToEndResult(int InputSize, int Particles, int BatchSize, int Runs, double Seconds, double ImagesPerSecond,
    double LatencyP50Ms, double LatencyP99Ms, double PeakWorkingSetMiB, double WorkingSetDriftPercent, IReadOnlyList<double> WorkingSetMiBSamples);

/// <summary>
/// Read (PNG bytes), decode, preprocess, batch, ensemble, store, lot: particles sent as instruments send them (several
/// runs at once, batches in flight) to a real embedded host, timed from the first batch to the last receipt. A particle's
/// latency is its batch's, from submission to receipt. Memory is sampled every half second; drift is the growth of the
/// last tenth of the run over its lowest tenth after the first (warm-up).
/// </summary>
public static class EndToEndBenchmark
{
    public static async Task<EndToEndResult> RunAsync(string workFolder, int inputSize, int particles, int batchSize, int runs, Action<string>? progress,
        CancellationToken cancellation)
    {
        var models = BenchModels.CreateSet(Path.Combine(workFolder, "models"), inputSize);
        var images = BenchModels.Images(Math.Min(particles, 4096));
        int[] ports = FreePorts(3);
        await using var app = await ParticleGridHost.BuildAsync([], o =>
        {
            o.DataDirectory = Path.Combine(workFolder, "data");
            o.SiloPort = ports[0];
            o.GatewayPort = ports[1];
            o.Worker.Device = "auto";
            o.CreateFirstAdminToken = false;
        }, $"http://127.0.0.1:{ports[2]}", builder => { builder.Logging.SetMinimumLevel(LogLevel.Warning); builder.Logging.AddFilter("Orleans", LogLevel.Error); },
            new Serving.WorkerRuntime());
        await app.StartAsync(cancellation);
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var registry = grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
        await registry.Activate((await registry.Register(models)).Version);

        var samples = new List<double>();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            using var self = Process.GetCurrentProcess();
            while (!sampling.IsCancellationRequested)
            {
                self.Refresh();
                lock (samples) samples.Add(self.WorkingSet64 / 1048576.0);
                try { await Task.Delay(500, sampling.Token); } catch (OperationCanceledException) { }
            }
        });

        var latencies = new List<double>();
        int sent = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, runs).Select(async r =>
        {
            var run = grains.GetGrain<IInstrumentRunGrain>($"bench-{r}");
            await run.Start(new RunDescriptor("LOT-BENCH", $"BENCH-{r}", 1.0, particles / runs));
            using var inFlight = new SemaphoreSlim(4);
            var ids = Enumerable.Range(0, particles / runs).ToList();
            await Task.WhenAll(ids.Chunk(batchSize).Select(async (chunk, b) =>
            {
                await inFlight.WaitAsync(cancellation);
                try
                {
                    var batch = chunk.Select(i => new ParticleImage($"{i:D7}", images[(r * 7919 + i) % images.Length], 10)).ToList();
                    var started = Stopwatch.GetTimestamp();
                    await run.SubmitBatch($"b{b}", batch);
                    double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    int done = Interlocked.Add(ref sent, chunk.Length);
                    lock (latencies) latencies.AddRange(Enumerable.Repeat(ms, chunk.Length));
                    if (done % (batchSize * 20) < chunk.Length) progress?.Invoke($"end to end: {done}/{particles} ({done / clock.Elapsed.TotalSeconds:F0}/s)");
                }
                finally
                {
                    inFlight.Release();
                }
            }));
        }));
        double seconds = clock.Elapsed.TotalSeconds;
        sampling.Cancel();
        await sampler;
        await app.StopAsync(CancellationToken.None);

        latencies.Sort();
        double Percentile(double p) => latencies[Math.Min(latencies.Count - 1, (int)(p * latencies.Count))];
        var memory = samples.ToList();
        // Growth, not change: the last tenth of the run against its lowest tenth after the first. A leak grows towards
        // the end; memory released after start-up (the first batches' allocations, collected later) is not growth.
        int tenth = Math.Max(1, memory.Count / 10);
        var tenths = Enumerable.Range(1, Math.Max(1, memory.Count / tenth - 1))
            .Select(i => memory.Skip(i * tenth).Take(tenth).DefaultIfEmpty(memory.LastOrDefault()).Average()).ToList();
        double early = tenths.DefaultIfEmpty(0).Min();
        double late = memory.Skip(memory.Count - tenth).DefaultIfEmpty(memory.LastOrDefault()).Average();
        return new EndToEndResult(inputSize, sent, batchSize, runs, seconds, sent / seconds, Percentile(0.50), Percentile(0.99),
            memory.DefaultIfEmpty(0).Max(), early > 0 ? 100 * (late - early) / early : 0, memory);
    }

    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        int[] ports = [.. listeners.Select(l => ((System.Net.IPEndPoint)l.LocalEndpoint).Port)];
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
