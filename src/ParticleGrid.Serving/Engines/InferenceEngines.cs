using Microsoft.ML.OnnxRuntime;
using ParticleGrid.Serving.Engines.Onnx;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using TorchSharp;
using ParticleGrid.Inference;

namespace ParticleGrid.Serving.Engines;

/// <summary>Which engine runs a worker's networks, and where. <see cref="InferenceEngines.Resolve"/> chooses it.</summary>
/// <param name="Engine"><c>onnxruntime</c> or <c>torchsharp</c>.</param>
/// <param name="Device"><c>cpu</c> or <c>cuda:N</c>.</param>
public sealed record EngineSelection(string Engine, string Device)
{
    public override string ToString() => $"{Engine} on {Device}";
}

/// <summary>A configured engine or device this build or host cannot provide; the message says what to change.</summary>
public sealed class EngineUnavailableException(string message) : Exception(message);

/// <summary>
/// The inference engines and how a worker picks one. ONNX Runtime (our graphs, <see cref="OnnxNetworkGraphs"/>) is the
/// fastest on the CPU: <c>docs/benchmarks.md</c> has the figures. TorchSharp is the reference every engine is tested
/// against, and it trains. On a GPU the build decides: ONNX Runtime's CUDA execution provider when the build carries
/// it (<c>-p:InferenceDevice=cuda</c>) and it loads, else TorchSharp's CUDA natives (<c>-p:TorchDevice=cuda</c>).
/// </summary>
public static class InferenceEngines
{
    public const string Auto = "auto";
    public const string OnnxRuntime = "onnxruntime";
    public const string TorchSharp = "torchsharp";

    public static IReadOnlyList<string> Choices { get; } = [Auto, OnnxRuntime, TorchSharp];

    /// <summary>Whether this build's ONNX Runtime carries the CUDA execution provider (the GPU build).</summary>
    public static bool OnnxRuntimeHasCuda =>
        OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider", StringComparer.Ordinal);

    /// <summary>
    /// Whether ONNX Runtime's CUDA execution provider loads here: it is in the build, a GPU is visible, and the CUDA
    /// libraries it links (ONNX Runtime 1.31: CUDA 13's libcudart.so.13 and libcublas.so.13, and cuDNN 9) are found.
    /// When it is not, <see cref="OnnxRuntimeCudaProblem"/> says why.
    /// </summary>
    public static bool OnnxRuntimeCudaUsable => OnnxRuntimeCudaProblem is null;

    /// <summary>Why ONNX Runtime cannot run on CUDA here (null: it can).</summary>
    public static string? OnnxRuntimeCudaProblem => onnxRuntimeCudaProblem.Value;

    static readonly Lazy<string?> onnxRuntimeCudaProblem = new(() =>
    {
        if (!OnnxRuntimeHasCuda) return "this build's ONNX Runtime has no CUDA execution provider (build with -p:InferenceDevice=cuda)";
        if (!CudaDeviceVisible()) return "no GPU is visible (/dev/nvidia*)";
        try
        {
            using var options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(0);   // loads the provider library and the CUDA libraries it links
            return null;
        }
        catch (OnnxRuntimeException e)
        {
            return $"its CUDA execution provider does not load: {e.Message}";
        }
    });

    /// <summary>The engine and device for an engine choice (<see cref="Choices"/>) and a device choice (auto, cpu, cuda).</summary>
    /// <exception cref="EngineUnavailableException">The choice names an engine or device this build or host lacks.</exception>
    /// <exception cref="ArgumentException">An unknown choice.</exception>
    public static EngineSelection Resolve(string engineChoice, string deviceChoice)
    {
        if (!Choices.Contains(engineChoice, StringComparer.Ordinal))
            throw new ArgumentException($"unknown inference engine '{engineChoice}'; use one of {string.Join(", ", Choices)}");
        if (!ComputeDevices.Choices.Contains(deviceChoice, StringComparer.Ordinal))
            throw new ArgumentException($"unknown device '{deviceChoice}'; use one of {string.Join(", ", ComputeDevices.Choices)}");

        bool ortCuda = engineChoice != TorchSharp && OnnxRuntimeCudaUsable;
        bool torchCuda = engineChoice != OnnxRuntime && torch.cuda.is_available();
        bool cuda = deviceChoice switch
        {
            "cpu" => false,
            "cuda" when ortCuda || torchCuda => true,
            "cuda" => throw new EngineUnavailableException(engineChoice switch
            {
                OnnxRuntime => $"engine onnxruntime on cuda: {OnnxRuntimeCudaProblem}",
                TorchSharp => "engine torchsharp on cuda: this build carries libtorch's CPU natives, or no GPU is visible (build with -p:TorchDevice=cuda on a CUDA host)",
                _ => "device cuda: no CUDA device is available to this build (it carries the CPU natives; build with the GPU options on a CUDA host)",
            }),
            _ => ortCuda || torchCuda,
        };
        string engine = engineChoice switch
        {
            Auto when cuda => ortCuda ? OnnxRuntime : TorchSharp,
            Auto => OnnxRuntime,
            _ => engineChoice,
        };
        return new EngineSelection(engine, cuda ? "cuda:0" : "cpu");
    }

    /// <summary>Loads one model folder into the selected engine.</summary>
    /// <param name="threads">CPU threads per operator for ONNX Runtime; 0: every core.</param>
    /// <exception cref="ModelDirectoryException">The folder, its manifest or its weights are unusable.</exception>
    /// <exception cref="Networks.CheckpointException">The weights do not fit the architecture.</exception>
    public static INetworkEngine Load(string directory, EngineSelection selection, int threads = 0, int maxBatch = 64)
    {
        ArgumentNullException.ThrowIfNull(selection);
        if (selection.Engine == TorchSharp)
        {
            var device = selection.Device == "cpu" ? torch.CPU : torch.CUDA;
            return new TorchSharpEngine(ModelDirectory.Load(directory, device), maxBatch);
        }

        var manifest = ModelFolder.ReadManifest(directory);
        OnnxRuntimeEngine Open(OnnxGraphCache.Graph graph) => new(graph, manifest.InputSize, manifest.Classes.Count,
            (int)OnnxNetworkGraphs.FeatureWidth(manifest.Architecture), manifest.Normalization.ToChannelNormalization(), selection.Device, threads, maxBatch);

        var cached = OnnxGraphCache.Read(directory, manifest);
        try
        {
            return Open(cached);
        }
        catch (OnnxRuntimeException) when (cached.FromCache)
        {
            // A damaged cached graph: write it again from the weights.
            return Open(OnnxGraphCache.Read(directory, manifest, rewrite: true));
        }
    }

    /// <summary>The N of <c>cuda:N</c>.</summary>
    public static int CudaIndex(string device) =>
        device.Split(':') is [_, var index] && int.TryParse(index, out int n) ? n : 0;

    static bool CudaDeviceVisible() =>
        Directory.Exists("/dev") && Directory.EnumerateFiles("/dev", "nvidia*").Any(path => char.IsAsciiDigit(path[^1]));
}
