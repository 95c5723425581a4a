using System.Diagnostics;
using System.Text.Json;
using ParticleGrid.Serving.Engines;
using ParticleGrid.Inference.Networks;
using ParticleGrid.ModelRepository;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>One engine's raw forward passes of one network at one size and batch.</summary>
/// <param name="PeakMemoryMiB">Peak resident memory (VmHWM) of the fresh process that loaded only this network in this engine and ran it.</param>
public sealed record ForwardResult(string Engine, string Network, int InputSize, int BatchSize, int Images, double ImagesPerSecond, double? PeakMemoryMiB);

/// <summary>
/// Raw batched forward passes (softmax included; no decoding, no cluster) of each network in each engine, beside
/// ONNX Runtime running PyTorch's export of torchvision's network with the same weights (<see cref="TorchvisionOnnxBaseline"/>).
/// </summary>
/// <remarks>
/// Every measurement runs in a fresh process that loads one network in one engine (<see cref="ProbeInThisProcess"/>):
/// engines sharing a process disturb each other (ONNX Runtime's pool threads and .NET's spin after their work and
/// take the core from whoever runs next), and each process's peak memory is then that engine's alone. Rounds take
/// the engines in a rotating order and each figure is the median of the rounds, so a slow moment of a shared machine
/// falls on all of them.
/// </remarks>
public static class EngineBenchmark
{
    public static readonly string[] Engines = [InferenceEngines.OnnxRuntime, InferenceEngines.TorchSharp, TorchvisionOnnxBaseline.Name];

    /// <param name="imagesFor">How many images one timed pass takes at a batch size.</param>
    /// <param name="rounds">Fresh processes per engine, network, size and batch.</param>
    public static IReadOnlyList<ForwardResult> Run(string workFolder, IReadOnlyList<int> sizes, IReadOnlyList<int> batches, Func<int, int> imagesFor,
        int rounds, int threads, string? exportScript, Action<string>? progress, IReadOnlyList<string>? engines = null)
    {
        engines ??= Engines;
        var results = new List<ForwardResult>();
        foreach (int size in sizes)
        {
            var folders = BenchModels.CreateSet(Path.Combine(workFolder, $"forward-{size}"), size);
            foreach (var (architecture, folder) in ParticleNetworks.Architectures.Zip(folders))
            {
                string? baselineGraph = exportScript is null || !engines.Contains(TorchvisionOnnxBaseline.Name) ? null
                    : TorchvisionOnnxBaseline.Export(exportScript, folder, architecture, BenchModels.Classes.Count, size, progress);
                var present = engines.Where(e => e != TorchvisionOnnxBaseline.Name || baselineGraph is not null).ToList();
                // Written once, outside any measured process: the graph a worker would find cached.
                if (present.Contains(InferenceEngines.OnnxRuntime)) Serving.Engines.Onnx.OnnxGraphCache.Read(folder, ModelRepository.ModelFolder.ReadManifest(folder));
                foreach (int batch in batches)
                {
                    int count = imagesFor(batch);
                    var measured = present.ToDictionary(e => e, _ => new List<ProbeResult>());
                    for (int round = 0; round < rounds; round++)
                    {
                        for (int turn = 0; turn < present.Count; turn++)
                        {
                            string engine = present[(round + turn) % present.Count];
                            if (Probe(engine, folder, baselineGraph, size, batch, count, threads, progress) is { } result) measured[engine].Add(result);
                        }
                    }
                    foreach (var (engine, probes) in measured.Where(m => m.Value.Count > 0))
                    {
                        var result = new ForwardResult(engine, architecture, size, batch, count, Median(probes.Select(p => p.ImagesPerSecond)),
                            Median(probes.Select(p => p.PeakMemoryMiB)));
                        results.Add(result);
                        progress?.Invoke($"forward {engine} {architecture} {size} px batch {batch}: {result.ImagesPerSecond:F1} images/s, peak {result.PeakMemoryMiB:F0} MiB");
                    }
                }
            }
            foreach (int batch in batches)
            {
                // The ensemble runs the three networks one after the other on the same images.
                foreach (var engine in engines)
                {
                    var parts = results.Where(r => r.Engine == engine && r.InputSize == size && r.BatchSize == batch && r.Network != "ensemble").ToList();
                    if (parts.Count != ParticleNetworks.Architectures.Count) continue;
                    double secondsPerImage = parts.Sum(p => 1 / p.ImagesPerSecond);
                    results.Add(new ForwardResult(engine, "ensemble", size, batch, parts.Min(p => p.Images), 1 / secondsPerImage, null));
                }
            }
        }
        return results;
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    // ---- one engine, one network, one fresh process ---------------------------------------------------------------

    /// <summary>What one fresh process measured.</summary>
    public sealed record ProbeResult(double ImagesPerSecond, double PeakMemoryMiB);

    const int PassesPerProbe = 3;

    /// <summary>Runs <c>particlegrid bench probe</c> in a fresh process (see <see cref="ProbeInThisProcess"/>); null when it fails (told).</summary>
    public static ProbeResult? Probe(string engine, string folder, string? baselineGraph, int size, int batch, int images, int threads, Action<string>? progress)
    {
        var (program, prefix) = CurrentProgram();
        var run = BenchProcess.Run(program, [.. prefix, "bench", "probe", "--engine", engine, "--model", folder, "--size", size.ToString(),
            "--batch", batch.ToString(), "--images", images.ToString(), "--threads", threads.ToString(),
            .. baselineGraph is null ? Array.Empty<string>() : ["--onnx", baselineGraph]]);
        if (!run.Succeeded)
        {
            progress?.Invoke($"forward probe {engine} {Path.GetFileName(folder)} failed {run.Failure}");
            return null;
        }
        return JsonSerializer.Deserialize<ProbeResult>(run.Output, ProbeJson);
    }

    static readonly JsonSerializerOptions ProbeJson = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// What <see cref="Probe"/> runs in its fresh process: loads the one network in the one engine, runs one warm-up
    /// batch, then <see cref="PassesPerProbe"/> timed passes over <paramref name="images"/> random images in batches of
    /// <paramref name="batch"/>, and writes the median pass's images/s and the process's peak resident memory as JSON.
    /// </summary>
    public static void ProbeInThisProcess(string engine, string folder, string? baselineGraph, int size, int batch, int images, int threads)
    {
        var random = new Random(2);
        var planes = Enumerable.Range(0, images).Select(_ => Enumerable.Range(0, 3 * size * size).Select(_ => random.NextSingle()).ToArray()).ToList();
        var rates = new List<double>();
        using (var network = Load(engine, folder, baselineGraph, size, threads, batch))
        {
            RunBatches(network, planes.Take(batch).ToList(), batch);
            for (int pass = 0; pass < PassesPerProbe; pass++)
            {
                var clock = Stopwatch.StartNew();
                RunBatches(network, planes, batch);
                rates.Add(images / clock.Elapsed.TotalSeconds);
            }
        }
        Console.WriteLine(JsonSerializer.Serialize(new ProbeResult(Median(rates), PeakResidentMiB()), ProbeJson));
    }

    static INetworkEngine Load(string engine, string folder, string? baselineGraph, int size, int threads, int maxBatch) => engine switch
    {
        TorchvisionOnnxBaseline.Name => new TorchvisionOnnxBaseline(baselineGraph ?? throw new ArgumentException("--onnx: the baseline needs its graph"), size, threads),
        _ => InferenceEngines.Load(folder, new EngineSelection(engine, "cpu"), threads, maxBatch),
    };

    static void RunBatches(INetworkEngine engine, IReadOnlyList<float[]> planes, int batch)
    {
        for (int start = 0; start < planes.Count; start += batch)
            engine.Probabilities(planes.Skip(start).Take(batch).ToList());
    }

    /// <summary>VmHWM of /proc/self/status: the most resident memory this process has had.</summary>
    public static double PeakResidentMiB()
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }

    /// <summary>How to start this program again: its apphost, or <c>dotnet particlegrid.dll</c>.</summary>
    internal static (string Program, string[] Prefix) CurrentProgram()
    {
        string process = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? (process, [typeof(EngineBenchmark).Assembly.Location])
            : (process, []);
    }
}
