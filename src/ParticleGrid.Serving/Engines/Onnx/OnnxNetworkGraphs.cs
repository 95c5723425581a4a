using Google.Protobuf;
using Onnx;
using ParticleGrid.Inference.Networks;

namespace ParticleGrid.Serving.Engines.Onnx;

/// <summary>
/// Our three networks as ONNX graphs, written from their weights (torchvision's state_dict keys) for inference:
/// the same maths as the TorchSharp modules in <c>Networks/</c>, plus the softmax, with these rewrites, each exact up
/// to float rounding:
/// <list type="bullet">
/// <item>every BatchNorm that follows a convolution is folded into it (one convolution with a bias);</item>
/// <item>DenseNet's transitions average-pool before their 1×1 convolution instead of after (both are linear and act on
///   different axes, so they commute) — the convolution then runs on a quarter of the pixels;</item>
/// <item>a 3×3 convolution over a map of 2×2 pixels or fewer (ResNet50's last stage and DenseNet201's last block at
///   64 px) is one matrix product (<c>OnnxGraphBuilder.SmallMapConvolution</c>).</item>
/// </list>
/// The input is the normalised image batch <c>images</c> [N, 3, S, S]; the outputs are the class scores <c>logits</c>
/// [N, classes] and the stage <c>features</c> [N, D] (each stage's output globally average-pooled, side by side, as
/// <see cref="IParticleNetwork.StageFeatures"/>; the out-of-scope score reads them, the classifier the last
/// block). The softmax, with the model's calibrated temperature, is applied by the caller.
/// </summary>
public static class OnnxNetworkGraphs
{
    /// <summary>Changes whenever the graphs change, so a cached graph written by an older build is not reused.</summary>
    public const string GraphFormat = "particlegrid-onnx/4";

    public const string InputName = "images";
    public const string LogitsName = "logits";
    public const string FeaturesName = "features";

    /// <summary>The ONNX model of <paramref name="architecture"/> with these weights, for images of <paramref name="inputSize"/> px.</summary>
    /// <exception cref="OnnxExportException">The weights do not fit the architecture.</exception>
    public static ModelProto Write(string architecture, NetworkWeights weights, int inputSize, int classCount)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 32);
        var builder = new OnnxGraphBuilder(weights);
        List<string> stages = architecture switch
        {
            "resnet50" => ResNet50(builder, InputName, inputSize),
            "densenet201" => DenseNet201(builder, InputName, inputSize),
            "shufflenet_v2" => ShuffleNetV2(builder, InputName, inputSize),
            _ => throw new OnnxExportException($"no ONNX graph for architecture '{architecture}'"),
        };
        var pooled = stages.Select(builder.GlobalAveragePoolFlat).ToList();
        builder.NameOutput(builder.Linear(pooled[^1], ParticleNetworks.ClassifierPrefix(architecture)), LogitsName);
        builder.NameOutput(builder.Concat(pooled), FeaturesName);
        return builder.Model(architecture, InputName, [(LogitsName, classCount), (FeaturesName, FeatureWidth(architecture))], inputSize,
            $"{architecture} for {inputSize} px particle images, written by ParticleGrid ({GraphFormat})");
    }

    /// <summary>The width of the stage features: every stage's pooled output.</summary>
    public static long FeatureWidth(string architecture) => ModelRepository.ModelArchitectures.Names.Contains(architecture)
        ? ModelRepository.ModelArchitectures.StageWidths(architecture).Sum()
        : throw new OnnxExportException($"no ONNX graph for architecture '{architecture}'");

    /// <summary>The model as the bytes of a <c>.onnx</c> file.</summary>
    public static byte[] Serialize(ModelProto model) => model.ToByteArray();

    // Each network is written up to its last stage; each returns its stages' output maps, in order.

    static List<string> ResNet50(OnnxGraphBuilder g, string images, int inputSize)
    {
        List<string> stages = [];
        var (x, side) = Stem(g, images, inputSize, "conv1", "bn1", kernel: 7);
        int[] blocks = [3, 4, 6, 3];
        for (int layer = 1; layer <= blocks.Length; layer++)
        {
            for (int block = 0; block < blocks[layer - 1]; block++)
            {
                string p = $"layer{layer}.{block}";
                int stride = layer > 1 && block == 0 ? 2 : 1;
                var y = g.ConvolutionWithBatchNorm(x, $"{p}.conv1", $"{p}.bn1", stride: 1, padding: 0, relu: true);
                y = g.ConvolutionWithBatchNorm(y, $"{p}.conv2", $"{p}.bn2", stride, padding: 1, relu: true, inputSide: side);
                side = OutputSide(side, kernel: 3, stride, padding: 1);
                y = g.ConvolutionWithBatchNorm(y, $"{p}.conv3", $"{p}.bn3", stride: 1, padding: 0);
                var shortcut = g.Weights.Contains($"{p}.downsample.0.weight")
                    ? g.ConvolutionWithBatchNorm(x, $"{p}.downsample.0", $"{p}.downsample.1", stride, padding: 0)
                    : x;
                x = g.Relu(g.Add(y, shortcut));
            }
            stages.Add(x);
        }
        return stages;
    }

    static List<string> DenseNet201(OnnxGraphBuilder g, string images, int inputSize)
    {
        List<string> stages = [];
        var (x, side) = Stem(g, images, inputSize, "features.conv0", "features.norm0", kernel: 7);
        int[] layers = [6, 12, 48, 32];
        for (int block = 1; block <= layers.Length; block++)
        {
            List<string> featureMaps = [x];
            for (int layer = 1; layer <= layers[block - 1]; layer++)
            {
                string p = $"features.denseblock{block}.denselayer{layer}";
                var y = g.Relu(g.BatchNorm(g.Concat(featureMaps), $"{p}.norm1"));
                y = g.ConvolutionWithBatchNorm(y, $"{p}.conv1", $"{p}.norm2", stride: 1, padding: 0, relu: true);
                featureMaps.Add(g.Convolution(y, $"{p}.conv2", stride: 1, padding: 1, inputSide: side));
            }
            x = g.Concat(featureMaps);
            if (block < layers.Length)
            {
                string t = $"features.transition{block}";
                x = g.Relu(g.BatchNorm(x, $"{t}.norm"));
                x = g.Convolution(g.AveragePool(x, kernel: 2, stride: 2), $"{t}.conv", stride: 1, padding: 0);
                side /= 2;
                stages.Add(x);
            }
        }
        x = g.Relu(g.BatchNorm(x, "features.norm5"));
        stages.Add(x);
        return stages;
    }

    static List<string> ShuffleNetV2(OnnxGraphBuilder g, string images, int inputSize)
    {
        List<string> stages = [];
        var (x, size) = Stem(g, images, inputSize, "conv1.0", "conv1.1", kernel: 3);
        long channels = 24;
        int[] repeats = [4, 8, 4];
        long[] outputs = [116, 232, 464];
        for (int stage = 0; stage < repeats.Length; stage++)
        {
            for (int unit = 0; unit < repeats[stage]; unit++)
            {
                string p = $"stage{stage + 2}.{unit}";
                string joined;
                if (unit == 0)
                {
                    var left = g.ConvolutionWithBatchNorm(x, $"{p}.branch1.0", $"{p}.branch1.1", stride: 2, padding: 1, groups: (int)channels);
                    left = g.ConvolutionWithBatchNorm(left, $"{p}.branch1.2", $"{p}.branch1.3", stride: 1, padding: 0, relu: true);
                    joined = g.Concat([left, Branch2(g, x, p, stride: 2, branchChannels: outputs[stage] / 2)]);
                    size = OutputSide(size, kernel: 3, stride: 2, padding: 1);
                    channels = outputs[stage];
                }
                else
                {
                    var (kept, transformed) = g.SplitChannelsInHalf(x, channels);
                    joined = g.Concat([kept, Branch2(g, transformed, p, stride: 1, branchChannels: channels / 2)]);
                }
                x = g.ChannelShuffle(joined, channels, size, size);
            }
            stages.Add(x);
        }
        x = g.ConvolutionWithBatchNorm(x, "conv5.0", "conv5.1", stride: 1, padding: 0, relu: true);
        stages.Add(x);
        return stages;
    }

    /// <summary>
    /// The stem all three networks open with: a k×k convolution of stride 2 (padding k / 2) with its BatchNorm and a ReLU,
    /// then a 3×3 max pool of stride 2. Returns the map and its side.
    /// </summary>
    static (string Map, long Side) Stem(OnnxGraphBuilder g, string images, int inputSize, string conv, string batchNorm, int kernel)
    {
        var x = g.ConvolutionWithBatchNorm(images, conv, batchNorm, stride: 2, padding: kernel / 2, relu: true);
        long side = OutputSide(OutputSide(inputSize, kernel, stride: 2, padding: kernel / 2), kernel: 3, stride: 2, padding: 1);
        return (g.MaxPool(x, kernel: 3, stride: 2, padding: 1), side);
    }

    /// <summary>1×1 conv, 3×3 depthwise (carrying the stride), 1×1 conv, each with its BatchNorm folded in.</summary>
    static string Branch2(OnnxGraphBuilder g, string input, string p, int stride, long branchChannels)
    {
        var y = g.ConvolutionWithBatchNorm(input, $"{p}.branch2.0", $"{p}.branch2.1", stride: 1, padding: 0, relu: true);
        y = g.ConvolutionWithBatchNorm(y, $"{p}.branch2.3", $"{p}.branch2.4", stride, padding: 1, groups: (int)branchChannels);
        return g.ConvolutionWithBatchNorm(y, $"{p}.branch2.5", $"{p}.branch2.6", stride: 1, padding: 0, relu: true);
    }

    /// <summary>The side of a feature map after a convolution or pooling window.</summary>
    static long OutputSide(long side, int kernel, int stride, int padding) => (side + 2 * padding - kernel) / stride + 1;
}
