using Microsoft.ML.OnnxRuntime;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Engines.Onnx;

namespace ParticleGrid.Inference.Engines;

/// <summary>
/// The network as an ONNX graph (written from our weights by <see cref="OnnxNetworkGraphs"/>) run by ONNX Runtime:
/// on the CPU with its own kernels and graph optimisations, or on a GPU through its CUDA execution provider in the
/// GPU build. Input and output buffers are allocated once for the largest batch and reused, so a batch allocates
/// nothing but its result arrays.
/// </summary>
public sealed class OnnxRuntimeEngine : INetworkEngine
{
    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    readonly ChannelNormalization normalization;
    readonly int maxBatch;
    readonly int classCount;
    readonly float[] input;
    readonly float[] output;
    readonly string[] inputNames = [OnnxNetworkGraphs.InputName];
    readonly string[] outputNames = [OnnxNetworkGraphs.OutputName];

    /// <param name="onnxModel">The graph: a <c>.onnx</c> file's bytes.</param>
    /// <param name="device"><c>cpu</c>, or <c>cuda:N</c> (needs this build's CUDA execution provider).</param>
    /// <param name="threads">Threads for one operator on the CPU; 0 uses every core.</param>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime refused the graph or the device.</exception>
    public OnnxRuntimeEngine(byte[] onnxModel, int inputSize, int classCount, ChannelNormalization normalization, string device,
        int threads = 0, int maxBatch = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        InputSize = inputSize;
        this.classCount = classCount;
        this.normalization = normalization;
        this.maxBatch = maxBatch;
        Device = device;
        using var options = SessionOptionsFor(device, threads);
        session = new InferenceSession(onnxModel, options);
        input = new float[maxBatch * 3 * inputSize * inputSize];
        output = new float[maxBatch * classCount];
    }

    public string Engine => InferenceEngines.OnnxRuntime;

    public string Device { get; }

    public int InputSize { get; }

    /// <summary>
    /// ONNX Runtime's settings for our graphs: every graph optimisation (operator fusion, the CPU's blocked NCHWc
    /// layout), one operator at a time with <paramref name="threads"/> threads each, and no spinning between
    /// batches, so an idle worker leaves its cores to decoding.
    /// </summary>
    public static SessionOptions SessionOptionsFor(string device, int threads)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads > 0 ? threads : Environment.ProcessorCount,
            InterOpNumThreads = 1,
        };
        try
        {
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            if (device.StartsWith("cuda", StringComparison.Ordinal))
                options.AppendExecutionProvider_CUDA(InferenceEngines.CudaIndex(device));
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    public IReadOnlyList<float[]> Probabilities(IReadOnlyList<float[]> planes)
    {
        ArgumentNullException.ThrowIfNull(planes);
        var result = new List<float[]>(planes.Count);
        for (int start = 0; start < planes.Count; start += maxBatch)
        {
            int count = Math.Min(maxBatch, planes.Count - start);
            Run(planes, start, count);
            for (int i = 0; i < count; i++) result.Add(output.AsSpan(i * classCount, classCount).ToArray());
        }
        return result;
    }

    void Run(IReadOnlyList<float[]> planes, int start, int count)
    {
        int imageLength = 3 * InputSize * InputSize;
        for (int i = 0; i < count; i++)
        {
            var image = planes[start + i];
            if (image.Length != imageLength)
                throw new ArgumentException($"image {start + i} has {image.Length} values; {InputSize} px needs {imageLength}", nameof(planes));
            ParticlePreprocessor.Normalize(image, input.AsSpan(i * imageLength, imageLength), InputSize, normalization);
        }
        using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            input.AsMemory(0, count * imageLength), [count, 3, InputSize, InputSize]);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            output.AsMemory(0, count * classCount), [count, classCount]);
        session.Run(runOptions, inputNames, [inputValue], outputNames, [outputValue]);
    }

    public void Dispose()
    {
        session.Dispose();
        runOptions.Dispose();
    }
}
