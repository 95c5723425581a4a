using Microsoft.ML.OnnxRuntime;
using ParticleGrid.Imaging;
using ParticleGrid.Serving.Engines.Onnx;
using ParticleGrid.Inference.Prediction;

namespace ParticleGrid.Serving.Engines;

/// <summary>
/// The network as an ONNX graph (written from our weights by <see cref="OnnxNetworkGraphs"/>) run by ONNX Runtime:
/// on the CPU with its own kernels and graph optimisations, or on a GPU through its CUDA execution provider in the
/// GPU build.
/// </summary>
/// <remarks>
/// <para>On the CPU a batch is cut into one slice per thread and the slices run at the same time through the one
/// session, each operator of a slice on one thread (data parallel), instead of every operator being split across the
/// threads (ONNX Runtime's own intra-op parallelism). The threads then never wait for each other between operators:
/// on 2 cores that is worth 1.2-1.6x for DenseNet201 and ShuffleNetV2, whose many small operators cannot keep two
/// threads busy, and nothing is lost on ResNet50's large convolutions (docs/benchmarks.md). The weights are the
/// session's and are shared by the slices; each slice's activations are a slice of the batch's. A batch smaller
/// than the thread count uses fewer cores.</para>
/// <para>Input and output buffers are allocated once for the largest batch and reused, so a batch allocates nothing
/// but its result arrays.</para>
/// </remarks>
public sealed class OnnxRuntimeEngine : INetworkEngine
{
    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    readonly ChannelNormalization normalization;
    readonly int maxBatch;
    readonly int classCount, featureWidth;
    readonly int slices;
    readonly float[] input;
    readonly float[] logits, features;
    readonly string[] inputNames = [OnnxNetworkGraphs.InputName];
    readonly string[] outputNames = [OnnxNetworkGraphs.LogitsName, OnnxNetworkGraphs.FeaturesName];

    /// <param name="graph">The graph's bytes, as checked against their hash (never reopened by path).</param>
    /// <param name="device"><c>cpu</c>, or <c>cuda:N</c> (needs this build's CUDA execution provider).</param>
    /// <param name="threads">CPU threads a batch runs on; 0 uses every core.</param>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime refused the graph or the device.</exception>
    public OnnxRuntimeEngine(OnnxGraphCache.Graph graph, int inputSize, int classCount, int featureWidth, ChannelNormalization normalization,
        string device, int threads = 0, int maxBatch = 64)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        InputSize = inputSize;
        this.classCount = classCount;
        this.featureWidth = featureWidth;
        this.normalization = normalization;
        this.maxBatch = maxBatch;
        Device = device;
        bool onCpu = device == "cpu";
        slices = onCpu ? (threads > 0 ? threads : Environment.ProcessorCount) : 1;
        using var options = SessionOptionsFor(device);
        session = new InferenceSession(graph.Bytes, options);
        input = new float[maxBatch * 3 * inputSize * inputSize];
        logits = new float[maxBatch * classCount];
        features = new float[maxBatch * featureWidth];
    }

    public string Engine => InferenceEngines.OnnxRuntime;

    public string Device { get; }

    public int InputSize { get; }

    /// <summary>
    /// ONNX Runtime's settings for our graphs: every graph optimisation (operator fusion, the CPU's blocked NCHWc
    /// layout), and on the CPU one thread per operator (the slices of a batch are the parallelism).
    /// </summary>
    public static SessionOptions SessionOptionsFor(string device)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
        };
        try
        {
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

    public NetworkOutputs Run(IReadOnlyList<float[]> planes)
    {
        ArgumentNullException.ThrowIfNull(planes);
        var logitRows = new List<float[]>(planes.Count);
        var featureRows = new List<float[]>(planes.Count);
        for (int start = 0; start < planes.Count; start += maxBatch)
        {
            int count = Math.Min(maxBatch, planes.Count - start);
            Run(planes, start, count);
            for (int i = 0; i < count; i++)
            {
                logitRows.Add(logits.AsSpan(i * classCount, classCount).ToArray());
                featureRows.Add(features.AsSpan(i * featureWidth, featureWidth).ToArray());
            }
        }
        return new NetworkOutputs(logitRows, featureRows);
    }

    /// <summary>Normalises the images into the input buffer, then runs the batch's slices side by side.</summary>
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
        int parts = Math.Min(slices, count);
        if (parts == 1)
        {
            RunSlice(0, count);
            return;
        }
        int perSlice = (count + parts - 1) / parts;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            int first = part * perSlice;
            if (first < count) RunSlice(first, Math.Min(perSlice, count - first));
        });
    }

    /// <summary>Images [first, first + count) of the buffers through the session.</summary>
    void RunSlice(int first, int count)
    {
        int imageLength = 3 * InputSize * InputSize;
        using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            input.AsMemory(first * imageLength, count * imageLength), [count, 3, InputSize, InputSize]);
        using var logitValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            logits.AsMemory(first * classCount, count * classCount), [count, classCount]);
        using var featureValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
            features.AsMemory(first * featureWidth, count * featureWidth), [count, featureWidth]);
        session.Run(runOptions, inputNames, [inputValue], outputNames, [logitValue, featureValue]);
    }

    public void Dispose()
    {
        session.Dispose();
        runOptions.Dispose();
    }
}
