using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Inference;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Inference.Prediction;
using TorchSharp;
using static TorchSharp.torch;

namespace ParticleGrid.Cli.Commands;

/// <summary>One stage's throughput.</summary>
public sealed record StageThroughput(string Stage, int Images, double Seconds, double ImagesPerSecond);

/// <summary>A target from issue 7 and where it stands.</summary>
public sealed record TargetStatus(string Target, string Measured, bool? Met);

/// <summary>Decoding and preprocessing against the ensemble (issue 4): is preprocessing ever the bottleneck?</summary>
public sealed record PreprocessingReport(IReadOnlyList<StageThroughput> Stages, double PreprocessingOverForward, string Verdict);

/// <summary>What <c>particlegrid bench</c> measured, in one run on one machine (ratios are what to compare).</summary>
public sealed record BenchReport(string Machine, int Threads, bool Quick, DateTimeOffset AtUtc, PreprocessingReport Preprocessing,
    IReadOnlyList<Benchmarks.ForwardResult> Forward, Benchmarks.EndToEndResult EndToEnd, double EndToEndOverRawEnsemble,
    IReadOnlyList<Benchmarks.OrleansLayerResult> OrleansLayer, IReadOnlyList<Benchmarks.PyTorchResult>? PyTorch, IReadOnlyList<TargetStatus> Targets);

/// <summary>
/// <c>particlegrid bench</c>: where the time of classifying a particle goes on this machine, against the hardware limit
/// and the alternative. (1) raw batched forward passes per network and of the ensemble at 64/128/224 px and batch
/// 1/16/64; (2) end to end through the embedded cluster, its ratio to (1) and latency p50/p99; (3) memory over the run;
/// (4) the Orleans layer alone with stand-in workers; (5) the same forward passes in Debian's PyTorch; plus decoding and
/// preprocessing against the networks. Networks have random weights: speed does not depend on what they learned.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "A short run (under 5 minutes on 2 cores) for CI and a first look" };
        var size = new Option<int>("--input-size") { Description = "Input side for the end-to-end and preprocessing figures", DefaultValueFactory = _ => 64 };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the figures as JSON" };
        var script = new Option<FileInfo?>("--pytorch-script") { Description = "bench/pytorch_forward.py (found from the working directory by default)" };
        var sizesOption = new Option<string>("--sizes") { Description = "Input sizes for the raw forward passes", DefaultValueFactory = _ => "64,128,224" };
        var batchesOption = new Option<string>("--batches") { Description = "Batch sizes for the raw forward passes", DefaultValueFactory = _ => "1,16,64" };
        var device = ModelOptions.Device();
        var command = new Command("bench", "Measures ParticleGrid's throughput on this machine: raw forward passes, end to end through the cluster, memory, the Orleans layer alone, and PyTorch for comparison.")
        {
            quick, size, json, script, sizesOption, batchesOption, device,
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            int inputSize = parse.GetValue(size);
            if (inputSize is < 32 or > 1024) throw new ArgumentException("--input-size must be 32-1024 pixels");
            bool isQuick = parse.GetValue(quick);
            var torchDevice = ComputeDevices.Resolve(parse.GetValue(device)!);
            string work = Directory.CreateTempSubdirectory("particlegrid-bench-").FullName;
            void Say(string line) => Console.Error.WriteLine(line);
            try
            {
                var preprocessing = await Task.Run(() => Measure(isQuick ? 64 : 512, inputSize, batchSize: 32, torchDevice), cancellation);
                Say(preprocessing.Verdict);

                int[] sizes = Numbers(parse.GetValue(sizesOption)!, "--sizes", 32, 1024), batches = Numbers(parse.GetValue(batchesOption)!, "--batches", 1, 512);
                int Images(int batch) => isQuick ? (batch == 1 ? 8 : batch) : Math.Max(4 * batch, 64);
                var forward = await Task.Run(() => Benchmarks.ForwardBenchmark.Run(sizes, batches, Images, torchDevice, Say)
                    .Concat(Benchmarks.ForwardBenchmark.Run([inputSize], [32], b => isQuick ? 64 : 256, torchDevice, Say)).ToList(), cancellation);

                var endToEnd = await Benchmarks.EndToEndBenchmark.RunAsync(work, inputSize, isQuick ? 512 : 20_000, 32, 2, Say, cancellation);
                double raw = forward.Last(f => f.Network == "ensemble" && f.InputSize == inputSize && f.BatchSize == 32).ImagesPerSecond;

                var layer = await Benchmarks.OrleansLayerBenchmark.RunAsync(work, isQuick ? [1, 2, 4] : [1, 2, 4, 8, 16, 32], isQuick ? 4000 : 40_000,
                    TimeSpan.FromMilliseconds(20), 32, Say, cancellation);

                string? pyScript = parse.GetValue(script)?.FullName ?? FindUp(Path.Combine("bench", "pytorch_forward.py"));
                var pytorch = pyScript is null ? null : await Task.Run(() => Benchmarks.PyTorchReference.Run(pyScript, Environment.ProcessorCount,
                    isQuick ? [sizes[0]] : sizes, isQuick ? [batches.FirstOrDefault(b => b > 1, batches[0])] : batches, 64, work, Say), cancellation);

                var report = new BenchReport($"{Environment.MachineName}, {Environment.ProcessorCount} cores, {torchDevice.type}", Environment.ProcessorCount, isQuick,
                    DateTimeOffset.UtcNow, preprocessing, forward, endToEnd, endToEnd.ImagesPerSecond / raw, layer, pytorch,
                    Targets(forward, endToEnd, raw, layer, pytorch, isQuick));
                Console.Write(Format(report));
                if (parse.GetValue(json) is { } file) await File.WriteAllTextAsync(file.FullName, JsonSerializer.Serialize(report, LotCommand.Json), cancellation);
                return 0;
            }
            finally
            {
                try { Directory.Delete(work, recursive: true); } catch (IOException) { }
            }
        }));
        return command;
    }

    private static IReadOnlyList<TargetStatus> Targets(IReadOnlyList<Benchmarks.ForwardResult> forward, Benchmarks.EndToEndResult endToEnd, double raw,
        IReadOnlyList<Benchmarks.OrleansLayerResult> layer, IReadOnlyList<Benchmarks.PyTorchResult>? pytorch, bool quick)
    {
        var targets = new List<TargetStatus>
        {
            new("end to end >= 0.9 x raw ensemble at the same size", $"{endToEnd.ImagesPerSecond / raw:F2} x ({endToEnd.ImagesPerSecond:F1} vs {raw:F1} images/s)", endToEnd.ImagesPerSecond / raw >= 0.9),
            new("memory flat within 10 % over 20k images", $"{endToEnd.WorkingSetDriftPercent:+0.0;-0.0} % over {endToEnd.Particles} images (peak {endToEnd.PeakWorkingSetMiB:F0} MiB)",
                quick ? null : Math.Abs(endToEnd.WorkingSetDriftPercent) <= 10),
            new("Orleans layer feeds >= 20k images/s", $"{layer.Max(l => l.ImagesPerSecond):F0} images/s (best of {string.Join(", ", layer.Select(l => l.Workers))} workers)",
                layer.Max(l => l.ImagesPerSecond) >= 20_000),
        };
        if (pytorch is not null)
        {
            foreach (var py in pytorch)
            {
                var ours = forward.FirstOrDefault(f => f.Network == py.Network && f.InputSize == py.Size && f.BatchSize == py.Batch);
                if (ours is null) continue;
                targets.Add(new($"{py.Network} {py.Size} px batch {py.Batch} >= PyTorch eager", $"{ours.ImagesPerSecond / py.EagerIps:F2} x eager, {ours.ImagesPerSecond / py.BestIps:F2} x PyTorch's best",
                    ours.ImagesPerSecond >= py.EagerIps));
            }
        }
        return targets;
    }

    public static string Format(BenchReport r)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine($"ParticleGrid bench ({(r.Quick ? "quick" : "full")}) on {r.Machine}, {r.AtUtc:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine();
        text.AppendLine("1. Raw forward passes (images/s)");
        text.AppendLine($"   {"network",-16}{"size",6}{"batch 1",12}{"batch 16",12}{"batch 64",12}");
        foreach (var group in r.Forward.Where(f => f.BatchSize != 32).GroupBy(f => (f.Network, f.InputSize)).OrderBy(g => g.Key.InputSize))
        {
            string Cell(int batch) => group.FirstOrDefault(f => f.BatchSize == batch)?.ImagesPerSecond.ToString("F1") ?? "-";
            text.AppendLine($"   {group.Key.Network,-16}{group.Key.InputSize,6}{Cell(1),12}{Cell(16),12}{Cell(64),12}");
        }
        var e = r.EndToEnd;
        text.AppendLine();
        text.AppendLine($"2. End to end at {e.InputSize} px ({e.Particles} particles, {e.Runs} runs, batches of {e.BatchSize}): {e.ImagesPerSecond:F1} images/s = {r.EndToEndOverRawEnsemble:F2} x the raw ensemble; latency p50 {e.LatencyP50Ms:F0} ms, p99 {e.LatencyP99Ms:F0} ms");
        text.AppendLine($"3. Memory: peak working set {e.PeakWorkingSetMiB:F0} MiB; drift {e.WorkingSetDriftPercent:+0.0;-0.0} % (second tenth to last tenth of the run)");
        text.AppendLine("4. The Orleans layer alone (stand-in workers, 20 ms per batch of 32):");
        foreach (var l in r.OrleansLayer) text.AppendLine($"   {l.Workers,3} worker(s): {l.ImagesPerSecond,9:F0} particles/s (ceiling {l.WorkersCouldDo:F0})");
        if (r.PyTorch is { } py)
        {
            text.AppendLine("5. Against Debian's PyTorch (same threads; images/s):");
            text.AppendLine($"   {"network",-16}{"size",6}{"batch",7}{"ours",10}{"eager",10}{"ch.last",10}{"folded",10}{"ours/eager",12}");
            foreach (var p in py)
            {
                var ours = r.Forward.FirstOrDefault(f => f.Network == p.Network && f.InputSize == p.Size && f.BatchSize == p.Batch);
                text.AppendLine($"   {p.Network,-16}{p.Size,6}{p.Batch,7}{ours?.ImagesPerSecond,10:F1}{p.EagerIps,10:F1}{p.ChannelsLastIps,10:F1}{p.FoldedIps,10:F1}{(ours is null ? "-" : (ours.ImagesPerSecond / p.EagerIps).ToString("F2")),12}");
            }
        }
        text.AppendLine($"6. Preprocessing: {r.Preprocessing.Verdict}");
        text.AppendLine();
        text.AppendLine("Targets:");
        foreach (var t in r.Targets) text.AppendLine($"   [{(t.Met is null ? "n/a" : t.Met.Value ? "met" : "not met")}] {t.Target}: {t.Measured}");
        return text.ToString();
    }

    private static int[] Numbers(string text, string option, int min, int max)
    {
        var numbers = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => int.TryParse(t, out int n) && n >= min && n <= max ? n : throw new ArgumentException($"{option}: '{t}' is not a whole number from {min} to {max}"))
            .Distinct().ToArray();
        return numbers.Length > 0 ? numbers : throw new ArgumentException($"{option}: give at least one number");
    }

    /// <summary>A file of the repository, looked for from the working directory upwards.</summary>
    private static string? FindUp(string relative)
    {
        for (var folder = new DirectoryInfo(Environment.CurrentDirectory); folder is not null; folder = folder.Parent)
        {
            string candidate = Path.Combine(folder.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public static PreprocessingReport Measure(int imageCount, int inputSize, int batchSize, Device device)
    {
        // Instrument-like inputs: PNG bytes of synthetic particles, 64 px, as a reader hands them over.
        var types = ParticleTypes.StudyTypes;
        var encoded = Benchmarks.BenchModels.Images(imageCount);

        var planes = new float[imageCount][];
        var preprocessing = Time(() => Parallel.For(0, imageCount, i =>
        {
            using var image = ParticleImageDecoder.Load(new MemoryStream(encoded[i]), $"image {i}");
            _ = ParticleMorphology.Measure(image, 1.0);
            planes[i] = ParticlePreprocessor.ToPlanes(image, inputSize);
        }));
        var stages = new List<StageThroughput> { Stage($"decode + measure + preprocess ({Environment.ProcessorCount} threads)", imageCount, preprocessing) };

        double ensembleSeconds = 0;
        foreach (var architecture in ParticleNetworks.Architectures)
        {
            using var network = ParticleNetworks.Create(architecture, types.Count);
            network.to(device);
            var classifier = new ParticleClassifier(network, inputSize, ChannelNormalization.ImageNet, device, batchSize);
            classifier.Probabilities(planes.Take(batchSize).ToList());   // warm-up
            double seconds = Time(() => classifier.Probabilities(planes));
            ensembleSeconds += seconds;
            stages.Add(Stage($"{architecture} forward (batch {batchSize}, {inputSize} px)", imageCount, seconds));
        }
        stages.Add(Stage("ensemble forward (the three networks)", imageCount, ensembleSeconds));

        double ratio = stages[0].ImagesPerSecond / stages[^1].ImagesPerSecond;
        string verdict = ratio >= 1
            ? $"preprocessing runs {ratio:F1}x as fast as the ensemble: it is not the bottleneck in front of the networks"
            : $"preprocessing runs at {ratio:F2}x the ensemble's speed: it IS the bottleneck on this machine";
        return new PreprocessingReport(stages, ratio, verdict);
    }

    private static StageThroughput Stage(string name, int images, double seconds) => new(name, images, seconds, images / seconds);

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }
}
