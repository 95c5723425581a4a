using ParticleGrid.Inference.Native;
using ParticleGrid.Training.Native;
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Serving.Engines;

namespace ParticleGrid.Cli.Commands;

/// <summary>One stage's throughput.</summary>
public sealed record StageThroughput(string Stage, int Images, double Seconds, double ImagesPerSecond);

/// <summary>A target (issues 7 and 8) and where it stands.</summary>
public sealed record TargetStatus(string Target, string Measured, bool? Met);

/// <summary>Decoding and preprocessing against the ensemble (issue 4): is preprocessing ever the bottleneck?</summary>
public sealed record PreprocessingReport(IReadOnlyList<StageThroughput> Stages, double PreprocessingOverForward, string Verdict);

/// <summary>What <c>particlegrid bench</c> measured, in one run on one machine (ratios are what to compare).</summary>
public sealed record BenchReport(string Machine, int Threads, bool Quick, DateTimeOffset AtUtc, string WorkerEngine, PreprocessingReport Preprocessing,
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
        var batchesOption = new Option<string>("--batches") { Description = "Batch sizes for the raw forward passes", DefaultValueFactory = _ => "16" };
        var rounds = new Option<int>("--rounds") { Description = "Fresh processes per engine, network, size and batch for the raw forward passes (each figure is their median; quick: 1)", DefaultValueFactory = _ => 3 };
        var device = ModelOptions.Device();
        var command = new Command("bench", "Measures ParticleGrid's throughput on this machine: each engine's raw forward passes beside ONNX Runtime's, end to end through the cluster, memory, the Orleans layer alone, and PyTorch for comparison.")
        {
            quick, size, json, script, sizesOption, batchesOption, rounds, device, ProbeCommand(), SiteCommand(),
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            int inputSize = parse.GetValue(size);
            if (inputSize is < 32 or > 1024) throw new ArgumentException("--input-size must be 32-1024 pixels");
            bool isQuick = parse.GetValue(quick);
            var selection = InferenceEngines.Resolve(InferenceEngines.Auto, parse.GetValue(device)!);
            int threads = Environment.ProcessorCount;
            string work = Directory.CreateTempSubdirectory("particlegrid-bench-").FullName;
            void Say(string line) => Console.Error.WriteLine(line);
            using var step = NativeSteps.Begin("benchmarking (training the bench's networks, then each section; its probes name their own engine)");
            try
            {
                var preprocessing = await Task.Run(() => Measure(work, isQuick ? 64 : 512, inputSize, batchSize: 32, selection, threads), cancellation);
                Say(preprocessing.Verdict);

                int[] sizes = Numbers(parse.GetValue(sizesOption)!, "--sizes", 32, 1024), batches = Numbers(parse.GetValue(batchesOption)!, "--batches", 1, 512);
                if (isQuick && parse.GetResult(sizesOption) is not { Implicit: false }) sizes = [sizes[0]];
                int Images(int batch) => Math.Max(4 * batch, isQuick ? 32 : 64);
                string? exportScript = FindUp(Path.Combine("bench", "torchvision_onnx.py"));
                var forward = await Task.Run(() => Benchmarks.EngineBenchmark.Run(work, sizes, batches, Images, isQuick ? 1 : parse.GetValue(rounds), threads,
                    exportScript, Say), cancellation);

                var endToEnd = await Benchmarks.EndToEndBenchmark.RunAsync(work, inputSize, isQuick ? 512 : 20_000, 32, 2, Say, cancellation);
                var rawAtBatch32 = await Task.Run(() => Benchmarks.EngineBenchmark.Run(work, [inputSize], [32], _ => isQuick ? 64 : 256, isQuick ? 1 : 3, threads,
                    exportScript: null, Say, engines: [selection.Engine]), cancellation);
                double raw = rawAtBatch32.Single(f => f.Network == "ensemble").ImagesPerSecond;

                var layer = await Benchmarks.OrleansLayerBenchmark.RunAsync(work, isQuick ? [1, 2, 4] : [1, 2, 4, 8, 16, 32], isQuick ? 4000 : 40_000,
                    TimeSpan.FromMilliseconds(20), 32, Say, cancellation);

                string? pyScript = parse.GetValue(script)?.FullName ?? FindUp(Path.Combine("bench", "pytorch_forward.py"));
                var pytorch = pyScript is null ? null : await Task.Run(() => Benchmarks.PyTorchReference.Run(pyScript, Environment.ProcessorCount,
                    isQuick ? [sizes[0]] : sizes, isQuick ? [batches.FirstOrDefault(b => b > 1, batches[0])] : batches, 64, work, Say), cancellation);

                var report = new BenchReport($"{Environment.MachineName}, {Environment.ProcessorCount} cores, {selection.Device}", threads, isQuick,
                    DateTimeOffset.UtcNow, selection.ToString(), preprocessing, [.. forward, .. rawAtBatch32], endToEnd, endToEnd.ImagesPerSecond / raw, layer, pytorch,
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
        var targets = new List<TargetStatus>();
        foreach (var baseline in forward.Where(f => f.Engine == Benchmarks.TorchvisionOnnxBaseline.Name && f.Network != "ensemble"))
        {
            var ours = forward.FirstOrDefault(f => f.Engine == InferenceEngines.OnnxRuntime && f.Network == baseline.Network
                                                   && f.InputSize == baseline.InputSize && f.BatchSize == baseline.BatchSize);
            if (ours is null) continue;
            string at = $"{baseline.Network} {baseline.InputSize} px batch {baseline.BatchSize}";
            targets.Add(new($"{at}: forward >= 1.0 x ONNX Runtime", $"{ours.ImagesPerSecond / baseline.ImagesPerSecond:F2} x ({ours.ImagesPerSecond:F1} vs {baseline.ImagesPerSecond:F1} images/s)",
                ours.ImagesPerSecond >= baseline.ImagesPerSecond));
            if (ours.PeakMemoryMiB is { } mine && baseline.PeakMemoryMiB is { } theirs)
                targets.Add(new($"{at}: peak memory <= ONNX Runtime's + 20 %", $"{mine / theirs:F2} x ({mine:F0} vs {theirs:F0} MiB)", mine <= 1.2 * theirs));
        }
        targets.Add(new("end to end >= 0.9 x raw ensemble at the same size", $"{endToEnd.ImagesPerSecond / raw:F2} x ({endToEnd.ImagesPerSecond:F1} vs {raw:F1} images/s)", endToEnd.ImagesPerSecond / raw >= 0.9));
        targets.Add(new("memory flat within 10 % over 20k images", $"{endToEnd.WorkingSetDriftPercent:+0.0;-0.0} % over {endToEnd.Particles} images (peak {endToEnd.PeakWorkingSetMiB:F0} MiB)",
            quick ? null : endToEnd.WorkingSetDriftPercent <= 10));
        targets.Add(new("Orleans layer feeds >= 20k images/s", $"{layer.Max(l => l.ImagesPerSecond):F0} images/s (best of {string.Join(", ", layer.Select(l => l.Workers))} workers)",
            layer.Max(l => l.ImagesPerSecond) >= 20_000));
        if (pytorch is not null)
        {
            foreach (var py in pytorch)
            {
                var ours = forward.FirstOrDefault(f => f.Engine == InferenceEngines.OnnxRuntime && f.Network == py.Network && f.InputSize == py.Size && f.BatchSize == py.Batch);
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
        string baselineName = Benchmarks.TorchvisionOnnxBaseline.Name;
        text.AppendLine($"ParticleGrid bench ({(r.Quick ? "quick" : "full")}) on {r.Machine}, {r.Threads} threads, {r.AtUtc:yyyy-MM-dd HH:mm} UTC; workers use {r.WorkerEngine}");
        text.AppendLine();
        text.AppendLine($"1. Raw forward passes, images/s (peak MiB of a fresh process with that one network), beside ONNX Runtime on PyTorch's export ({baselineName})");
        text.AppendLine($"   {"network",-14}{"size",5}{"batch",6}{"onnxruntime",20}{"torchsharp",20}{baselineName,28}{"ours/ORT",10}{"memory",8}");
        string Cell(Benchmarks.ForwardResult? f) => f is null ? "-" : $"{f.ImagesPerSecond:F1}" + (f.PeakMemoryMiB is { } m ? $" ({m:F0})" : "");
        foreach (var group in r.Forward.GroupBy(f => (f.Network, f.InputSize, f.BatchSize)).Where(g => g.Count() > 1 || g.Key.BatchSize != 32))
        {
            var ours = group.FirstOrDefault(f => f.Engine == InferenceEngines.OnnxRuntime);
            var torch = group.FirstOrDefault(f => f.Engine == InferenceEngines.TorchSharp);
            var baseline = group.FirstOrDefault(f => f.Engine == baselineName);
            string speed = ours is null || baseline is null ? "-" : $"{ours.ImagesPerSecond / baseline.ImagesPerSecond:F2}";
            string memory = ours?.PeakMemoryMiB is { } a && baseline?.PeakMemoryMiB is { } b ? $"{a / b:F2}" : "-";
            text.AppendLine($"   {group.Key.Network,-14}{group.Key.InputSize,5}{group.Key.BatchSize,6}{Cell(ours),20}{Cell(torch),20}{Cell(baseline),28}{speed,10}{memory,8}");
        }
        var e = r.EndToEnd;
        text.AppendLine();
        text.AppendLine($"2. End to end at {e.InputSize} px ({e.Particles} particles, {e.Runs} runs, batches of {e.BatchSize}): {e.ImagesPerSecond:F1} images/s = {r.EndToEndOverRawEnsemble:F2} x the raw ensemble; latency p50 {e.LatencyP50Ms:F0} ms, p99 {e.LatencyP99Ms:F0} ms");
        text.AppendLine($"3. Memory: peak working set {e.PeakWorkingSetMiB:F0} MiB; drift {e.WorkingSetDriftPercent:+0.0;-0.0} % (growth of the last tenth of the run over its lowest tenth after the first)");
        text.AppendLine("4. The Orleans layer alone (stand-in workers, 20 ms per batch of 32):");
        foreach (var l in r.OrleansLayer) text.AppendLine($"   {l.Workers,3} worker(s): {l.ImagesPerSecond,9:F0} particles/s (ceiling {l.WorkersCouldDo:F0})");
        if (r.PyTorch is { } py)
        {
            text.AppendLine("5. Against Debian's PyTorch (same threads; images/s; ours: the onnxruntime engine):");
            text.AppendLine($"   {"network",-16}{"size",6}{"batch",7}{"ours",10}{"eager",10}{"ch.last",10}{"folded",10}{"ours/eager",12}");
            foreach (var p in py)
            {
                var ours = r.Forward.FirstOrDefault(f => f.Engine == InferenceEngines.OnnxRuntime && f.Network == p.Network && f.InputSize == p.Size && f.BatchSize == p.Batch);
                text.AppendLine($"   {p.Network,-16}{p.Size,6}{p.Batch,7}{ours?.ImagesPerSecond,10:F1}{p.EagerIps,10:F1}{p.ChannelsLastIps,10:F1}{p.FoldedIps,10:F1}{(ours is null ? "-" : (ours.ImagesPerSecond / p.EagerIps).ToString("F2")),12}");
            }
        }
        text.AppendLine($"6. Preprocessing: {r.Preprocessing.Verdict}");
        text.AppendLine();
        text.AppendLine("Targets:");
        foreach (var t in r.Targets) text.AppendLine($"   [{(t.Met is null ? "n/a" : t.Met.Value ? "met" : "not met")}] {t.Target}: {t.Measured}");
        return text.ToString();
    }

    /// <summary>
    /// <c>bench site</c> (issue 16 part 7): a filled store served by the real host, its QA queries timed over HTTP while an
    /// ingest runs, and the ingest client's memory (<see cref="Benchmarks.SiteBenchmark"/>).
    /// </summary>
    private static Command SiteCommand()
    {
        var lots = new Option<int>("--lots") { Description = "Lots in the store (two runs each)", DefaultValueFactory = _ => 300 };
        var perLot = new Option<int>("--particles-per-lot") { Description = "Particles of each lot", DefaultValueFactory = _ => 10_000 };
        var big = new Option<int?>("--big-lot-particles") { Description = "Particles of the one big lot (default: 30 x --particles-per-lot)" };
        var postgres = new Option<string?>("--postgres") { Description = "A PostgreSQL server's connection string: the bench makes a fresh database there (and drops it); default: SQLite in a temporary folder" };
        var clientRun = new Option<int>("--client-run-particles") { Description = "Particles of the generated run the ingest client sends while the queries are timed", DefaultValueFactory = _ => 200_000 };
        var samples = new Option<int>("--samples") { Description = "Requests timed per query", DefaultValueFactory = _ => 50 };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the figures as JSON" };
        foreach (var (option, min) in new[] { (lots, 1), (perLot, 2), (clientRun, 1), (samples, 1) })
            option.Validators.Add(r => { if (r.GetValue(option) < min) r.AddError($"{option.Name} must be at least {min}"); });
        big.Validators.Add(r => { if (r.GetValue(big) is < 2) r.AddError("--big-lot-particles must be at least 2"); });
        var command = new Command("site", "Fills a store with --lots lots of --particles-per-lot particles and one big lot, serves it, and times the lot list, " +
                                          "lot profiles, particle pages and the CSV export while an ingest runs; then the ingest client's peak memory.")
        {
            lots, perLot, big, postgres, clientRun, samples, json,
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            int m = parse.GetValue(perLot);
            var options = new Benchmarks.SiteBenchOptions(parse.GetValue(lots), m, parse.GetValue(big) ?? 30 * m, parse.GetValue(postgres),
                parse.GetValue(clientRun), parse.GetValue(samples));
            string work = Directory.CreateTempSubdirectory("particlegrid-bench-site-").FullName;
            try
            {
                var report = await Benchmarks.SiteBenchmark.RunAsync(options, work, line => Console.Error.WriteLine(line), cancellation);
                Console.Write(Benchmarks.SiteBenchmark.Format(report));
                if (parse.GetValue(json) is { } file) await File.WriteAllTextAsync(file.FullName, JsonSerializer.Serialize(report, LotCommand.Json), cancellation);
                return 0;
            }
            finally
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                try { Directory.Delete(work, recursive: true); } catch (IOException) { }
            }
        }));
        return command;
    }

    /// <summary><c>bench probe</c> (hidden): what one peak-memory measurement runs in its fresh process.</summary>
    private static Command ProbeCommand()
    {
        var engine = new Option<string>("--engine") { Required = true };
        var model = new Option<string>("--model") { Required = true };
        var onnx = new Option<string?>("--onnx");
        var probeSize = new Option<int>("--size") { Required = true };
        var batch = new Option<int>("--batch") { Required = true };
        var images = new Option<int>("--images") { Required = true };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var probe = new Command("probe", "Loads one network in one engine, times it, and prints its images/s and peak resident memory (used by bench)")
        {
            engine, model, onnx, probeSize, batch, images, threads,
        };
        probe.Hidden = true;
        probe.SetAction(parse => CommandErrors.Guard(() =>
        {
            using var step = NativeSteps.Begin($"bench probe: {parse.GetValue(engine)} forward passes of {parse.GetValue(model)} at {parse.GetValue(probeSize)} px");
            Benchmarks.EngineBenchmark.ProbeInThisProcess(parse.GetValue(engine)!, parse.GetValue(model)!, parse.GetValue(onnx), parse.GetValue(probeSize),
                parse.GetValue(batch), parse.GetValue(images), parse.GetValue(threads));
            return Task.FromResult(0);
        }));
        return probe;
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

    public static PreprocessingReport Measure(string workFolder, int imageCount, int inputSize, int batchSize, EngineSelection selection, int threads)
    {
        // Instrument-like inputs: PNG bytes of synthetic particles, 64 px, as a reader hands them over.
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
        var folders = Benchmarks.BenchModels.CreateSet(Path.Combine(workFolder, $"preprocessing-{inputSize}"), inputSize);
        foreach (var (architecture, folder) in ParticleNetworks.Architectures.Zip(folders))
        {
            using var network = InferenceEngines.Load(folder, selection, threads, batchSize);
            network.Probabilities(planes.Take(batchSize).ToList());   // warm-up
            double seconds = Time(() => network.Probabilities(planes));
            ensembleSeconds += seconds;
            stages.Add(Stage($"{architecture} forward ({selection}, batch {batchSize}, {inputSize} px)", imageCount, seconds));
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
