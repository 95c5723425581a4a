using Microsoft.ML.OnnxRuntime;
using ParticleGrid.Imaging;
using ParticleGrid.Serving.Engines;
using ParticleGrid.Inference.Prediction;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>
/// The alternative a platform engineer would weigh ParticleGrid against: the same network and weights in torchvision,
/// exported by PyTorch's ONNX exporter (<c>bench/torchvision_onnx.py</c>) and run by ONNX Runtime with its defaults
/// (every graph optimisation, its own thread pool with <c>threads</c> threads, spinning on), as an ONNX inference
/// server would. The softmax is applied here, on the logits (the product's own, at temperature 1).
/// </summary>
public sealed class TorchvisionOnnxBaseline : INetworkEngine
{
    public const string Name = "onnxruntime-torchvision";

    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    readonly ChannelNormalization normalization = ChannelNormalization.ImageNet;

    public TorchvisionOnnxBaseline(string onnxFile, int inputSize, int threads)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
        };
        session = new InferenceSession(onnxFile, options);
        InputSize = inputSize;
    }

    public string Engine => Name;

    public string Device => "cpu";

    public int InputSize { get; }

    /// <summary>Exports the torchvision graph for a model folder's weights with Debian's PyTorch.</summary>
    /// <returns>The .onnx file, or null (with the reason told) when PyTorch or the script is missing or fails.</returns>
    public static string? Export(string script, string modelDirectory, string architecture, int classes, int inputSize, Action<string>? progress)
    {
        string output = Path.Combine(modelDirectory, $"torchvision-{inputSize}.onnx");
        if (File.Exists(output)) return output;
        if (!File.Exists(PyTorchReference.Python) || !File.Exists(script))
        {
            progress?.Invoke($"ONNX Runtime baseline skipped: {(File.Exists(script) ? PyTorchReference.Python : script)} not found");
            return null;
        }
        var run = BenchProcess.Run(PyTorchReference.Python, [script, "--architecture", architecture,
            "--weights", Path.Combine(modelDirectory, "weights.pth"), "--classes", classes.ToString(), "--size", inputSize.ToString(), "--output", output]);
        if (run.Succeeded && File.Exists(output)) return output;
        progress?.Invoke($"ONNX Runtime baseline for {architecture} failed {run.Failure}");
        return null;
    }

    /// <summary>Logits only: PyTorch's export ends at the classifier, so there are no features to give (empty rows).</summary>
    public NetworkOutputs Run(IReadOnlyList<float[]> planes)
    {
        int imageLength = 3 * InputSize * InputSize;
        var input = new float[planes.Count * imageLength];
        for (int i = 0; i < planes.Count; i++)
            ParticlePreprocessor.Normalize(planes[i], input.AsSpan(i * imageLength, imageLength), InputSize, normalization);
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input, [planes.Count, 3, InputSize, InputSize]);
        using var outputs = session.Run(runOptions, ["images"], [inputValue], ["logits"]);
        var logits = outputs[0].GetTensorDataAsSpan<float>();
        int classes = logits.Length / planes.Count;
        var rows = new List<float[]>(planes.Count);
        for (int i = 0; i < planes.Count; i++) rows.Add(logits.Slice(i * classes, classes).ToArray());
        return new NetworkOutputs(rows, [.. rows.Select(_ => Array.Empty<float>())]);
    }

    public IReadOnlyList<float[]> Probabilities(IReadOnlyList<float[]> planes) =>
        [.. Run(planes).Logits.Select(l => Domain.Confidence.TemperatureScaling.Softmax(l))];

    public void Dispose()
    {
        session.Dispose();
        runOptions.Dispose();
    }
}
