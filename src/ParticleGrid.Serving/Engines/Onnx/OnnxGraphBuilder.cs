using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace ParticleGrid.Serving.Engines.Onnx;

/// <summary>
/// Writes an ONNX graph operator by operator with the ONNX protobuf classes: constants become initializers, every
/// operator output gets a fresh name, and the layer shapes the three networks are made of (convolution with its
/// BatchNorm folded in, BatchNorm on its own, pooling, the linear head) are one call each.
/// </summary>
internal sealed class OnnxGraphBuilder(NetworkWeights weights)
{
    /// <summary>The operator set the graphs use (ONNX 1.12; every ONNX Runtime since 1.12 runs it).</summary>
    public const long OpsetVersion = 17;
    const float BatchNormEpsilon = 1e-5f;

    readonly GraphProto graph = new();
    readonly Dictionary<string, int> counters = new(StringComparer.Ordinal);

    public NetworkWeights Weights => weights;

    /// <summary>The whole model: one input <c>images</c> [N, 3, S, S] and one output <c>probabilities</c> [N, classes].</summary>
    public ModelProto Model(string name, string images, IReadOnlyList<(string Name, long Width)> outputs, int inputSize, string docString)
    {
        graph.Name = name;
        graph.Input.Add(FloatValue(images, [null, 3, inputSize, inputSize]));
        foreach (var (output, width) in outputs) graph.Output.Add(FloatValue(output, [null, width]));
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "ParticleGrid",
            ProducerVersion = OnnxNetworkGraphs.GraphFormat,
            DocString = docString,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        return model;
    }

    /// <summary>Renames the last operator's output (the graph's output must carry its declared name).</summary>
    public void NameOutput(string current, string wanted)
    {
        foreach (var node in graph.Node)
            for (int i = 0; i < node.Output.Count; i++)
                if (node.Output[i] == current) node.Output[i] = wanted;
    }

    // ---- layers -------------------------------------------------------------------------------------------------

    /// <summary>
    /// Convolution <paramref name="conv"/> followed by BatchNorm <paramref name="batchNorm"/> (inference statistics),
    /// as one convolution with folded weights: w' = w·γ/√(σ²+ε), b' = β − μ·γ/√(σ²+ε) (computed in double).
    /// </summary>
    /// <param name="inputSide">The input feature map's side, when known: a small map may be written as a matrix product (<see cref="IsSmallMap"/>).</param>
    public string ConvolutionWithBatchNorm(string input, string conv, string batchNorm, int stride, int padding, int groups = 1, bool relu = false,
        long? inputSide = null)
    {
        var weight = weights[conv + ".weight"];
        var (scale, shift) = BatchNormScaleShift(batchNorm, weight.Shape[0]);
        if (IsSmallMap(weight, stride, groups, inputSide))
            return SmallMapConvolution(input, conv, weight, scale, shift, padding, inputSide!.Value, relu);
        long perOutput = weight.Values.Length / weight.Shape[0];
        var folded = new float[weight.Values.Length];
        for (long o = 0; o < weight.Shape[0]; o++)
            for (long i = 0; i < perOutput; i++)
                folded[o * perOutput + i] = (float)(weight.Values[o * perOutput + i] * scale[o]);
        var bias = shift.Select(b => (float)b).ToArray();
        string output = Convolution(input, conv, new WeightTensor(folded, weight.Shape), bias, stride, padding, groups);
        return relu ? Relu(output) : output;
    }

    /// <summary>A convolution without bias, as the state_dict holds it.</summary>
    /// <param name="inputSide">The input feature map's side, when known: a small map may be written as a matrix product (<see cref="IsSmallMap"/>).</param>
    public string Convolution(string input, string conv, int stride, int padding, int groups = 1, long? inputSide = null)
    {
        var weight = weights[conv + ".weight"];
        return IsSmallMap(weight, stride, groups, inputSide)
            ? SmallMapConvolution(input, conv, weight, scale: null, shift: null, padding, inputSide!.Value, relu: false)
            : Convolution(input, conv, weight, bias: null, stride, padding, groups);
    }

    /// <summary>
    /// Whether a convolution is better written as one matrix product: an ungrouped, stride-1 convolution with a kernel
    /// wider than 1 over a feature map of at most 2×2 pixels (ResNet50's last stage and DenseNet201's last block at
    /// 64 px). Most of its kernel taps then fall on padding, and a convolution kernel spends as long on those as on the
    /// rest; the matrix holds only the taps that meet a pixel and runs at the machine's full multiply-add rate.
    /// </summary>
    static bool IsSmallMap(WeightTensor weight, int stride, int groups, long? inputSide) =>
        inputSide is <= 2 && stride == 1 && groups == 1 && weight.Shape[2] > 1;

    /// <summary>
    /// A stride-1 convolution over a side×side map as the linear map it is: flatten each image to [C·side²], multiply by
    /// a [O·side², C·side²] matrix whose entry (o, p; c, q) is the kernel tap that carries input pixel q to output pixel
    /// p (zero where that tap falls outside the kernel), add the bias, and reshape to [O, side, side]. The same sums
    /// as the convolution, in another order.
    /// </summary>
    string SmallMapConvolution(string input, string conv, WeightTensor weight, double[]? scale, double[]? shift, int padding, long side, bool relu)
    {
        long outputs = weight.Shape[0], channels = weight.Shape[1], kernel = weight.Shape[2], pixels = side * side;
        if (weight.Shape[3] != kernel || 2 * padding != kernel - 1)
            throw new OnnxExportException($"'{conv}': a small-map convolution needs a square kernel with 'same' padding");
        long columns = channels * pixels;
        var matrix = new float[outputs * pixels * columns];
        var bias = new float[outputs * pixels];
        for (long o = 0; o < outputs; o++)
        {
            double factor = scale?[o] ?? 1.0;
            for (long p = 0; p < pixels; p++)
            {
                long row = o * pixels + p, py = p / side, px = p % side;
                bias[row] = (float)(shift?[o] ?? 0.0);
                for (long c = 0; c < channels; c++)
                    for (long q = 0; q < pixels; q++)
                    {
                        long ky = q / side - py + padding, kx = q % side - px + padding;
                        if (ky < 0 || ky >= kernel || kx < 0 || kx >= kernel) continue;
                        float tap = weight.Values[((o * channels + c) * kernel + ky) * kernel + kx];
                        matrix[row * columns + c * pixels + q] = (float)(tap * factor);
                    }
            }
        }
        string flat = Operator("Flatten", "flatten", [input], Attribute("axis", 1));
        string product = Operator("Gemm", conv, [flat, Constant(conv + ".matrix", new WeightTensor(matrix, [outputs * pixels, columns])),
            Constant(conv + ".bias", new WeightTensor(bias, [bias.Length]))], Attribute("transB", 1));
        if (relu) product = Relu(product);
        return Operator("Reshape", "unflatten", [product, Int64Constant("shape", [-1, outputs, side, side])]);
    }

    /// <summary>BatchNorm with inference statistics, as one per-channel multiply-add (ONNX BatchNormalization).</summary>
    public string BatchNorm(string input, string batchNorm) =>
        Operator("BatchNormalization", batchNorm,
            [input, Constant(batchNorm + ".weight"), Constant(batchNorm + ".bias"),
             Constant(batchNorm + ".running_mean"), Constant(batchNorm + ".running_var")],
            Attribute("epsilon", BatchNormEpsilon));

    public string Relu(string input) => Operator("Relu", "relu", [input]);

    public string Add(string left, string right) => Operator("Add", "add", [left, right]);

    public string Concat(IReadOnlyList<string> inputs) =>
        inputs.Count == 1 ? inputs[0] : Operator("Concat", "concat", [.. inputs], Attribute("axis", 1));

    public string MaxPool(string input, int kernel, int stride, int padding) =>
        Operator("MaxPool", "maxpool", [input], Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride),
            Ints("pads", padding, padding, padding, padding));

    public string AveragePool(string input, int kernel, int stride) =>
        Operator("AveragePool", "avgpool", [input], Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride));

    /// <summary>Global average pooling to [N, C].</summary>
    public string GlobalAveragePoolFlat(string input) =>
        Operator("Flatten", "flatten", [Operator("GlobalAveragePool", "gap", [input])], Attribute("axis", 1));

    /// <summary>A linear layer: x·Wᵀ + b.</summary>
    public string Linear(string input, string linear) =>
        Operator("Gemm", linear, [input, Constant(linear + ".weight"), Constant(linear + ".bias")], Attribute("transB", 1));

    /// <summary>Splits the channels into two equal halves.</summary>
    public (string First, string Second) SplitChannelsInHalf(string input, long channels)
    {
        string sizes = Int64Constant("split_sizes", [channels / 2, channels / 2]);
        string first = Fresh("half"), second = Fresh("half");
        var node = new NodeProto { OpType = "Split", Name = Fresh("split") };
        node.Input.Add(input);
        node.Input.Add(sizes);
        node.Output.Add(first);
        node.Output.Add(second);
        node.Attribute.Add(Attribute("axis", 1));
        graph.Node.Add(node);
        return (first, second);
    }

    /// <summary>ShuffleNet's channel shuffle of two groups: reshape to [N, 2, C/2, H, W], swap axes 1 and 2, reshape back.</summary>
    public string ChannelShuffle(string input, long channels, long height, long width)
    {
        string grouped = Operator("Reshape", "shuffle", [input, Int64Constant("shape", [-1, 2, channels / 2, height, width])]);
        string swapped = Operator("Transpose", "shuffle", [grouped], Ints("perm", 0, 2, 1, 3, 4));
        return Operator("Reshape", "shuffle", [swapped, Int64Constant("shape", [-1, channels, height, width])]);
    }

    // ---- plumbing -----------------------------------------------------------------------------------------------

    string Convolution(string input, string conv, WeightTensor weight, float[]? bias, int stride, int padding, int groups)
    {
        if (weight.Shape.Length != 4) throw new OnnxExportException($"'{conv}.weight' is not a 4-D convolution kernel");
        List<string> inputs = [input, Constant(conv + ".weight", weight)];
        if (bias is not null) inputs.Add(Constant(conv + ".bias", new WeightTensor(bias, [bias.Length])));
        return Operator("Conv", conv, [.. inputs],
            Ints("kernel_shape", weight.Shape[2], weight.Shape[3]), Ints("strides", stride, stride),
            Ints("pads", padding, padding, padding, padding), Attribute("group", groups));
    }

    (double[] Scale, double[] Shift) BatchNormScaleShift(string batchNorm, long channels)
    {
        var gamma = weights[batchNorm + ".weight"].Values;
        var beta = weights[batchNorm + ".bias"].Values;
        var mean = weights[batchNorm + ".running_mean"].Values;
        var variance = weights[batchNorm + ".running_var"].Values;
        if (gamma.Length != channels) throw new OnnxExportException($"'{batchNorm}' has {gamma.Length} channels, its convolution {channels}");
        var scale = new double[channels];
        var shift = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = gamma[c] / Math.Sqrt((double)variance[c] + BatchNormEpsilon);
            shift[c] = beta[c] - mean[c] * scale[c];
        }
        return (scale, shift);
    }

    string Operator(string opType, string hint, string[] inputs, params AttributeProto[] attributes)
    {
        string output = Fresh(hint);
        var node = new NodeProto { OpType = opType, Name = Fresh(opType) };
        node.Input.Add(inputs);
        node.Output.Add(output);
        node.Attribute.Add(attributes);
        graph.Node.Add(node);
        return output;
    }

    string Constant(string key) => Constant(key, weights[key]);

    string Constant(string key, WeightTensor tensor)
    {
        string name = Fresh(key);
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.Add(tensor.Shape);
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
        graph.Initializer.Add(proto);
        return name;
    }

    string Int64Constant(string hint, long[] values)
    {
        string name = Fresh(hint);
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        graph.Initializer.Add(proto);
        return name;
    }

    string Fresh(string hint)
    {
        counters.TryGetValue(hint, out int n);
        counters[hint] = n + 1;
        return n == 0 ? hint : $"{hint}_{n}";
    }

    static ValueInfoProto FloatValue(string name, long?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
            shape.Dim.Add(dim is { } value ? new TensorShapeProto.Types.Dimension { DimValue = value } : new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    static AttributeProto Attribute(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    static AttributeProto Attribute(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }
}
