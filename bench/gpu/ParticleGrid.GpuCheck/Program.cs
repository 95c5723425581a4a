using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using ParticleGrid.Domain;
using ParticleGrid.Serving.Engines;
using ParticleGrid.Serving.Engines.Onnx;
using ParticleGrid.Inference.Models;
using ParticleGrid.Inference.Prediction;
using ParticleGrid.ModelRepository;
using TorchSharp;
using static TorchSharp.torch;

// The .NET half of the one-call GPU check. bench/gpu/gpu_check.py prepares a work folder (the weights it drew with
// torchvision, the test images), runs this program once per route, and compares what it wrote with torchvision.
//
//   particlegrid-gpu-check torchsharp --work DIR --device cuda|cpu [--torch-lib DIR] [--sizes 64,224] [--batches 1,16,64]
//                                     [--seconds 0.5] [--budget-s 200] [--threads N] --report FILE
//       The product's TorchSharp networks and engine (ModelDirectory.Load, TorchSharpEngine, EnsembleVoter) on the
//       libtorch found in --torch-lib (loaded before TorchSharp looks for it).
//   particlegrid-gpu-check onnx --work DIR [--threads N] [--sizes ...] [--batches ...] [--seconds ..] [--budget-s ..] --report FILE
//       The product's ONNX graphs (OnnxNetworkGraphs, written from the raw weights without libtorch) run by its ONNX
//       Runtime engine on the CPU; the graphs are left in DIR/onnx for the Python side.
//
// Work folder: models/NETWORK/{manifest.json, weights.pth, weights.bin, weights.json}, inputs/input-SIZE.f32 (CHW
// planes in [0, 1], float32, [N, 3, S, S]). Written: results/ROUTE-NETWORK-SIZE.f32 and results/ROUTE-ensemble-SIZE.f32
// (probabilities [N, classes]), and the JSON report. Exit code 0 when the report was written, whatever it says.

var options = Options.Parse(args);
var report = new Dictionary<string, object?> { ["route"] = options.Command, ["pid"] = Environment.ProcessId };
int exitCode = 0;
try
{
    if (options.Command == "torchsharp") TorchSharpRoute.Run(options, report);
    else if (options.Command == "onnx") OnnxRoute.Run(options, report);
    else throw new ArgumentException($"unknown command '{options.Command}': torchsharp or onnx");
}
catch (Exception e)
{
    // The report is what the driver reads: a failure goes into it, with the whole exception for the log.
    // TorchSharp's load failure arrives wrapped in a TypeInitializationException: the inner ones say what failed.
    var chain = new List<string>();
    for (var inner = e; inner is not null; inner = inner.InnerException) chain.Add($"{inner.GetType().Name}: {inner.Message.Split('\n')[0]}");
    report["error"] = string.Join(" <- ", chain);
    report["error_detail"] = e.ToString();
    Console.Error.WriteLine(e);
    exitCode = 2;
}
File.WriteAllText(options.Report, JsonSerializer.Serialize(report, Report.Json));
return exitCode;

sealed record Options(string Command, string Work, string Device, string? TorchLib, int[] Sizes, int[] Batches,
    double Seconds, double BudgetSeconds, int Threads, string Report)
{
    public static Options Parse(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("usage: particlegrid-gpu-check torchsharp|onnx --work DIR --report FILE [...]");
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected --name value, got '{args[i]}'");
            named[args[i][2..]] = args[i + 1];
        }
        string Get(string name, string fallback) => named.GetValueOrDefault(name, fallback);
        int[] Ints(string name, string fallback) => [.. Get(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];
        return new Options(args[0], Get("work", "."), Get("device", "cuda"), named.GetValueOrDefault("torch-lib"),
            Ints("sizes", "64,224"), Ints("batches", "1,16,64"),
            double.Parse(Get("seconds", "0.5"), System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(Get("budget-s", "200"), System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(Get("threads", "0")), Get("report", "report.json"));
    }
}

static class Report
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string[] Networks(string work) =>
        [.. ParticleGrid.Inference.Networks.ParticleNetworks.Architectures.Where(n => Directory.Exists(Path.Combine(work, "models", n)))];

    /// <summary>The test images at one size: raw float32 CHW planes, one array per image.</summary>
    public static List<float[]> Inputs(string work, int size)
    {
        var bytes = File.ReadAllBytes(Path.Combine(work, "inputs", $"input-{size}.f32"));
        int imageLength = 3 * size * size;
        var all = MemoryMarshal.Cast<byte, float>(bytes);
        if (all.Length % imageLength != 0) throw new InvalidDataException($"input-{size}.f32 is not a whole number of {size} px images");
        var images = new List<float[]>();
        for (int i = 0; i < all.Length / imageLength; i++) images.Add(all.Slice(i * imageLength, imageLength).ToArray());
        return images;
    }

    public static void WriteRows(string work, string name, IEnumerable<IReadOnlyList<float>> rows)
    {
        Directory.CreateDirectory(Path.Combine(work, "results"));
        using var file = File.Create(Path.Combine(work, "results", name + ".f32"));
        foreach (var row in rows) file.Write(MemoryMarshal.AsBytes(row.ToArray().AsSpan()));
    }

    /// <summary>The soft vote's combined probabilities, image by image: what a worker's ensemble records.</summary>
    public static List<float[]> Ensemble(IReadOnlyList<IReadOnlyList<float[]>> perNetwork)
    {
        var voter = new EnsembleVoter(VoteRule.Soft);
        return [.. Enumerable.Range(0, perNetwork[0].Count).Select(i =>
            voter.Decide([.. perNetwork.Select(p => (IReadOnlyList<float>)p[i])]).Probabilities.Select(p => (float)p).ToArray())];
    }

    /// <summary>
    /// Images per second of <paramref name="pass"/>: one untimed warm-up pass, then passes until <paramref name="seconds"/>
    /// have gone by (at least two). <paramref name="sync"/> waits for the device before the clock is read.
    /// </summary>
    public static double ImagesPerSecond(Action pass, int images, double seconds, Action? sync = null)
    {
        pass();
        sync?.Invoke();
        var clock = Stopwatch.StartNew();
        int passes = 0;
        do
        {
            pass();
            passes++;
            if (passes % 4 == 0 || clock.Elapsed.TotalSeconds >= seconds) sync?.Invoke();
        } while (passes < 2 || clock.Elapsed.TotalSeconds < seconds);
        sync?.Invoke();
        return Math.Round(images * passes / clock.Elapsed.TotalSeconds, 2);
    }

    /// <summary>Runs one measurement and records it; a device out of memory ends that series (larger batches will not fit).</summary>
    public static bool Measure(List<Dictionary<string, object?>> timings, Dictionary<string, object?> row, Func<double> measure,
        Stopwatch total, double budgetSeconds)
    {
        if (total.Elapsed.TotalSeconds > budgetSeconds)
        {
            row["skipped"] = "time budget spent";
            timings.Add(row);
            return false;
        }
        try
        {
            row["images_per_s"] = measure();
            timings.Add(row);
            return true;
        }
        catch (Exception e) when (e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase))
        {
            row["out_of_memory"] = true;
            timings.Add(row);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return false;
        }
        catch (Exception e)
        {
            row["error"] = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
            timings.Add(row);
            return false;
        }
    }
}

/// <summary>The product's TorchSharp engine on the libtorch of the machine it runs on.</summary>
static class TorchSharpRoute
{
    // Loaded in this order so each finds the ones before it already there (libtorch_cuda needs c10_cuda and torch_cpu).
    static readonly string[] TorchLibraries = ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];

    public static void Run(Options options, Dictionary<string, object?> report)
    {
        var total = Stopwatch.StartNew();
        report["device_requested"] = options.Device;
        var binding = new Dictionary<string, object?>();
        report["binding"] = binding;
        if (options.TorchLib is { } lib)
        {
            var loaded = new List<string>();
            foreach (var name in TorchLibraries.Where(n => File.Exists(Path.Combine(lib, n))))
            {
                NativeLibrary.Load(Path.Combine(lib, name));
                loaded.Add(name);
            }
            binding["preloaded"] = loaded;
        }

        bool cuda = options.Device == "cuda";
        // This is the step that binds libLibTorchSharp.so to the libtorch loaded above; TorchSharp throws with its
        // load trace when a symbol is missing (the process dies instead if an ABI change breaks a call later).
        torch.InitializeDeviceType(cuda ? DeviceType.CUDA : DeviceType.CPU);
        binding["bound"] = true;
        binding["cuda_available"] = torch.cuda.is_available();
        binding["cuda_devices"] = torch.cuda.is_available() ? torch.cuda.device_count() : 0;
        var device = cuda ? torch.CUDA : torch.CPU;
        if (cuda)
        {
            // The parity is held to the float32 reference: TF32 rounds a convolution's inputs to 10 mantissa bits.
            torch.backends.cuda.matmul.allow_tf32 = false;
            torch.backends.cudnn.allow_tf32 = false;
            binding["tf32"] = false;
        }
        torch.set_grad_enabled(false);
        // On a shared CPU (CI) libtorch's OpenMP threads spin at their barriers while another process holds a core,
        // which made single passes take seconds; the driver asks for one thread there.
        if (options.Threads > 0) torch.set_num_threads(options.Threads);
        Action? sync = cuda ? () => torch.cuda.synchronize() : null;

        var networks = Report.Networks(options.Work);
        var timings = new List<Dictionary<string, object?>>();
        var parity = new List<string>();
        report["networks"] = networks;
        report["timings"] = timings;
        report["parity_files"] = parity;
        int maxBatch = Math.Max(options.Batches.Max(), 1);
        foreach (int size in options.Sizes)
        {
            var inputs = Report.Inputs(options.Work, size);
            var loaded = networks.Select(n => Load(options.Work, n, size, device, maxBatch)).ToList();
            var engines = loaded.Select(l => l.Engine).ToList();
            try
            {
                var probabilities = new List<IReadOnlyList<float[]>>();
                foreach (var (network, engine) in networks.Zip(engines))
                {
                    var p = engine.Probabilities(inputs);
                    probabilities.Add(p);
                    Report.WriteRows(options.Work, $"torchsharp-{network}-{size}", p);
                    parity.Add($"torchsharp-{network}-{size}");
                }
                Report.WriteRows(options.Work, $"torchsharp-ensemble-{size}", Report.Ensemble(probabilities));
                parity.Add($"torchsharp-ensemble-{size}");

                foreach (var (network, model) in networks.Zip(loaded))
                    TimeNetwork(network, model, size, inputs, options, device, sync, timings, total);
                foreach (int batch in options.Batches)
                {
                    var planes = Enumerable.Range(0, batch).Select(i => inputs[i % inputs.Count]).ToList();
                    var row = Row("ensemble", size, batch, "engine", "float32");
                    if (!Report.Measure(timings, row, () => Report.ImagesPerSecond(() =>
                            Report.Ensemble([.. engines.Select(e => e.Probabilities(planes))]), batch, options.Seconds), total, options.BudgetSeconds))
                        break;
                }
                // float16 is no engine option (TorchSharpEngine runs float32); the module itself in half precision
                // shows what an fp16 engine would gain. Last, as it converts the loaded network in place. Not on
                // the CPU, where libtorch's half-precision convolutions are a slow fallback and say nothing.
                if (cuda)
                    foreach (var (network, model) in networks.Zip(loaded))
                        TimeHalf(network, model, size, inputs, options, device, sync, timings, total);
            }
            finally
            {
                foreach (var engine in engines) engine.Dispose();
            }
        }
        report["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1);
    }

    /// <summary>A model folder through the product's loader (SHA-256 checked, strict state_dict), served at <paramref name="size"/>.</summary>
    static Served Load(string work, string network, int size, Device device, int maxBatch)
    {
        var loaded = ModelDirectory.Load(Path.Combine(work, "models", network), device);
        // The networks end in adaptive pooling: the same weights serve any input size; the manifest says which.
        var model = new LoadedModel(loaded.Manifest with { InputSize = size }, loaded.Directory, loaded.Network, loaded.Device);
        return new Served(new TorchSharpEngine(model, maxBatch), loaded.Network);
    }

    /// <summary>An engine and the module inside it (the engine owns and disposes it).</summary>
    sealed record Served(INetworkEngine Engine, nn.Module<Tensor, Tensor> Network);

    static Dictionary<string, object?> Row(string network, int size, int batch, string what, string precision) => new()
    {
        ["network"] = network, ["size"] = size, ["batch"] = batch, ["what"] = what, ["precision"] = precision,
    };

    static void TimeNetwork(string network, Served served, int size, List<float[]> inputs, Options options, Device device,
        Action? sync, List<Dictionary<string, object?>> timings, Stopwatch total)
    {
        var engine = served.Engine;
        // "engine": what a worker pays per batch (normalising on the CPU, copying in, the network, copying out).
        foreach (int batch in options.Batches)
        {
            var planes = Enumerable.Range(0, batch).Select(i => inputs[i % inputs.Count]).ToList();
            if (!Report.Measure(timings, Row(network, size, batch, "engine", "float32"),
                    () => Report.ImagesPerSecond(() => engine.Probabilities(planes), batch, options.Seconds), total, options.BudgetSeconds))
                break;
        }
        // "module": the network's forward pass and softmax alone, on a batch already on the device.
        var module = served.Network;
        foreach (int batch in options.Batches)
        {
            using var input = torch.rand([batch, 3, size, size], device: device);
            if (!Report.Measure(timings, Row(network, size, batch, "module", "float32"), () => Report.ImagesPerSecond(() =>
                {
                    using var scope = torch.NewDisposeScope();
                    nn.functional.softmax(module.forward(input), 1);
                }, batch, options.Seconds, sync), total, options.BudgetSeconds))
                break;
        }
    }

    static void TimeHalf(string network, Served served, int size, List<float[]> inputs, Options options, Device device,
        Action? sync, List<Dictionary<string, object?>> timings, Stopwatch total)
    {
        var module = served.Network;
        try
        {
            module.half();
        }
        catch (Exception e)
        {
            timings.Add(new Dictionary<string, object?>(Row(network, size, 0, "module", "float16")) { ["error"] = e.Message.Split('\n')[0] });
            return;
        }
        foreach (int batch in options.Batches)
        {
            using var input = torch.rand([batch, 3, size, size], device: device).half();
            if (!Report.Measure(timings, Row(network, size, batch, "module", "float16"), () => Report.ImagesPerSecond(() =>
                {
                    using var scope = torch.NewDisposeScope();
                    nn.functional.softmax(module.forward(input), 1);
                }, batch, options.Seconds, sync), total, options.BudgetSeconds))
                break;
        }
    }
}

/// <summary>
/// The product's ONNX graphs, written here from raw weights (no libtorch at all), run by its ONNX Runtime engine on the
/// CPU: the route that needs nothing from the machine's torch. The graphs stay in the work folder for Python's ONNX Runtime.
/// </summary>
static class OnnxRoute
{
    public static void Run(Options options, Dictionary<string, object?> report)
    {
        var total = Stopwatch.StartNew();
        var networks = Report.Networks(options.Work);
        var timings = new List<Dictionary<string, object?>>();
        var parity = new List<string>();
        var graphs = new List<string>();
        report["networks"] = networks;
        report["timings"] = timings;
        report["parity_files"] = parity;
        report["graphs"] = graphs;
        report["threads"] = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        report["providers"] = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders();
        int maxBatch = Math.Max(options.Batches.Max(), 1);
        foreach (int size in options.Sizes)
        {
            var inputs = Report.Inputs(options.Work, size);
            var probabilities = new List<IReadOnlyList<float[]>>();
            var engines = new List<INetworkEngine>();
            try
            {
                foreach (var network in networks)
                {
                    string folder = Path.Combine(options.Work, "models", network);
                    var manifest = ModelFolder.ReadManifest(folder);
                    var graph = OnnxNetworkGraphs.Write(network, RawWeights(folder), size, manifest.Classes.Count);
                    string path = Path.Combine(options.Work, "onnx", $"{network}-{size}.onnx");
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    byte[] bytes = OnnxNetworkGraphs.Serialize(graph);
                    File.WriteAllBytes(path, bytes);
                    graphs.Add(Path.GetRelativePath(options.Work, path));
                    INetworkEngine engine = new OnnxRuntimeEngine(new OnnxGraphCache.Graph(path, bytes, FromCache: false), size, manifest.Classes.Count,
                        (int)OnnxNetworkGraphs.FeatureWidth(network), manifest.Normalization.ToChannelNormalization(), "cpu", options.Threads, maxBatch);
                    engines.Add(engine);
                    var p = engine.Probabilities(inputs);
                    probabilities.Add(p);
                    Report.WriteRows(options.Work, $"onnx-{network}-{size}", p);
                    parity.Add($"onnx-{network}-{size}");
                }
                Report.WriteRows(options.Work, $"onnx-ensemble-{size}", Report.Ensemble(probabilities));
                parity.Add($"onnx-ensemble-{size}");
                foreach (var (network, engine) in networks.Zip(engines))
                    foreach (int batch in options.Batches)
                    {
                        var planes = Enumerable.Range(0, batch).Select(i => inputs[i % inputs.Count]).ToList();
                        var row = new Dictionary<string, object?>
                        {
                            ["network"] = network, ["size"] = size, ["batch"] = batch, ["what"] = "engine", ["precision"] = "float32",
                        };
                        if (!Report.Measure(timings, row, () => Report.ImagesPerSecond(() => engine.Probabilities(planes), batch, options.Seconds),
                                total, options.BudgetSeconds))
                            break;
                    }
            }
            finally
            {
                foreach (var engine in engines) engine.Dispose();
            }
        }
        report["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1);
    }

    /// <summary>weights.json ([{key, shape, offset}], offsets in floats) over weights.bin (float32): a state_dict's float tensors.</summary>
    static NetworkWeights RawWeights(string folder)
    {
        var floats = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(folder, "weights.bin")));
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "weights.json")));
        var tensors = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var entry in index.RootElement.EnumerateArray())
        {
            long[] shape = [.. entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())];
            long offset = entry.GetProperty("offset").GetInt64();
            long count = shape.Aggregate(1L, (a, b) => a * b);
            tensors[entry.GetProperty("key").GetString()!] = new WeightTensor(floats.Slice((int)offset, (int)count).ToArray(), shape);
        }
        return new NetworkWeights(tensors);
    }
}
