using System.Diagnostics;
using System.Text.Json;
using ParticleGrid.Inference.Engines;
using ParticleGrid.Inference.Networks;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>One engine's raw forward passes of one network at one size and batch.</summary>
/// <param name="PeakMemoryMiB">Peak resident memory of a fresh process that loads only this network in this engine and runs it (null: not measured).</param>
public sealed record ForwardResult(string Engine, string Network, int InputSize, int BatchSize, int Images, double ImagesPerSecond, double? PeakMemoryMiB);

/// <summary>
/// Raw batched forward passes (softmax included; no decoding, no cluster) of each network in each engine, beside
/// ONNX Runtime running PyTorch's export of torchvision's network with the same weights (<see cref="TorchvisionOnnxBaseline"/>).
/// The engines take turns within each round, in a rotating order, and each figure is the median of the rounds, so a
/// slow moment of a shared machine falls on all of them. Peak memory comes from one fresh process per engine and network
/// (<see cref="Probe"/>), so the figures do not mix.
/// </summary>
public static class EngineBenchmark
{
    public static readonly string[] Engines = [InferenceEngines.OnnxRuntime, InferenceEngines.TorchSharp, TorchvisionOnnxBaseline.Name];

    public static IReadOnlyList<ForwardResult> Run(string workFolder, IReadOnlyList<int> sizes, IReadOnlyList<int> batches, Func<int, int> imagesFor,
        int rounds, int threads, string? exportScript, bool measureMemory, Action<string>? progress, IReadOnlyList<string>? engines = null)
    {
        engines ??= Engines;
        var results = new List<ForwardResult>();
        var random = new Random(1);
        foreach (int size in sizes)
        {
            var folders = BenchModels.CreateSet(Path.Combine(workFolder, $"forward-{size}"), size);
            foreach (var (architecture, folder) in ParticleNetworks.Architectures.Zip(folders))
            {
                string? baselineGraph = exportScript is null || !engines.Contains(TorchvisionOnnxBaseline.Name) ? null
                    : TorchvisionOnnxBaseline.Export(exportScript, folder, architecture, BenchModels.Classes.Count, size, progress);
                var loaded = new List<INetworkEngine>();
                try
                {
                    foreach (var name in engines.Where(e => e != TorchvisionOnnxBaseline.Name || baselineGraph is not null))
                        loaded.Add(Load(name, folder, baselineGraph, size, threads, batches.Max()));
                    foreach (int batch in batches)
                    {
                        int count = imagesFor(batch);
                        var planes = Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, 3 * size * size).Select(_ => random.NextSingle()).ToArray()).ToList();
                        var rates = loaded.ToDictionary(e => e.Engine, _ => new List<double>());
                        foreach (var engine in loaded) RunBatches(engine, planes.Take(batch).ToList(), batch);   // warm-up
                        for (int round = 0; round < rounds; round++)
                        {
                            for (int turn = 0; turn < loaded.Count; turn++)
                            {
                                var engine = loaded[(round + turn) % loaded.Count];
                                var clock = Stopwatch.StartNew();
                                RunBatches(engine, planes, batch);
                                rates[engine.Engine].Add(count / clock.Elapsed.TotalSeconds);
                            }
                        }
                        foreach (var engine in loaded)
                        {
                            double? memory = measureMemory ? Probe(engine.Engine, folder, baselineGraph, size, batch, threads, progress) : null;
                            var result = new ForwardResult(engine.Engine, architecture, size, batch, count, Median(rates[engine.Engine]), memory);
                            results.Add(result);
                            progress?.Invoke($"forward {engine.Engine} {architecture} {size} px batch {batch}: {result.ImagesPerSecond:F1} images/s" +
                                (memory is null ? "" : $", peak {memory:F0} MiB"));
                        }
                    }
                }
                finally
                {
                    foreach (var engine in loaded) engine.Dispose();
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

    static INetworkEngine Load(string engine, string folder, string? baselineGraph, int size, int threads, int maxBatch) => engine switch
    {
        TorchvisionOnnxBaseline.Name => new TorchvisionOnnxBaseline(baselineGraph!, size, threads),
        _ => InferenceEngines.Load(folder, new EngineSelection(engine, "cpu"), threads, maxBatch),
    };

    static void RunBatches(INetworkEngine engine, IReadOnlyList<float[]> planes, int batch)
    {
        for (int start = 0; start < planes.Count; start += batch)
            engine.Probabilities(planes.Skip(start).Take(batch).ToList());
    }

    static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }

    // ---- peak memory, one fresh process per engine and network ----------------------------------------------------

    /// <summary>
    /// Runs <c>particlegrid bench probe</c> in a fresh process: it loads the one network in the one engine, runs four
    /// batches and reports its peak resident memory (VmHWM), which includes the .NET runtime (the same for every engine).
    /// </summary>
    public static double? Probe(string engine, string folder, string? baselineGraph, int size, int batch, int threads, Action<string>? progress)
    {
        var (program, prefix) = CurrentProgram();
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in prefix.Concat(["bench", "probe", "--engine", engine, "--model", folder, "--size", size.ToString(),
                     "--batch", batch.ToString(), "--threads", threads.ToString(), .. baselineGraph is null ? Array.Empty<string>() : ["--onnx", baselineGraph]]))
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            progress?.Invoke($"memory probe {engine} {Path.GetFileName(folder)} failed (exit {process.ExitCode}): {error.Result.Split('\n').LastOrDefault(l => l.Length > 0)}");
            return null;
        }
        using var document = JsonDocument.Parse(output);
        return document.RootElement.GetProperty("peakMemoryMiB").GetDouble();
    }

    /// <summary>What <see cref="Probe"/> runs in the fresh process. Writes {"peakMemoryMiB": …} to standard output.</summary>
    public static void ProbeInThisProcess(string engine, string folder, string? baselineGraph, int size, int batch, int threads)
    {
        var random = new Random(2);
        var planes = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, 3 * size * size).Select(_ => random.NextSingle()).ToArray()).ToList();
        using (var network = Load(engine, folder, baselineGraph, size, threads, batch))
        {
            for (int i = 0; i < 4; i++) network.Probabilities(planes);
        }
        Console.WriteLine(JsonSerializer.Serialize(new { peakMemoryMiB = PeakResidentMiB() }));
    }

    /// <summary>VmHWM of /proc/self/status: the most resident memory this process has had.</summary>
    public static double PeakResidentMiB()
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }

    /// <summary>How to start this program again: its apphost, or <c>dotnet particlegrid.dll</c>.</summary>
    static (string Program, string[] Prefix) CurrentProgram()
    {
        string process = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? (process, [typeof(EngineBenchmark).Assembly.Location])
            : (process, []);
    }
}
