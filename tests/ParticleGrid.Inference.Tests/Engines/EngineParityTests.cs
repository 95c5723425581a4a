using ParticleGrid.Imaging;
using ParticleGrid.Serving.Engines;
using ParticleGrid.Serving.Engines.Onnx;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Inference.Tests.Support;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ParticleGrid.Inference.Tests.Engines;

/// <summary>
/// Every engine computes what the TorchSharp reference computes on the same weights: the same argmax and every
/// probability within <see cref="ProbabilityTolerance"/>, for each network. The weights have randomised BatchNorm
/// statistics, so a wrong fold or a missing layer shows.
/// </summary>
public sealed class EngineParityTests(ITestOutputHelper output)
{
    const float ProbabilityTolerance = 1e-4f;
    const int InputSize = 64;
    const int ImageCount = 5;
    static readonly string[] Classes = ["air_bubble", "glass", "protein_aggregate", "silicone_oil"];

    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void Onnx_runtime_matches_the_torchsharp_reference(string architecture)
    {
        using var directory = new TemporaryDirectory();
        var images = RandomPlanes(ImageCount, seed: 7);
        string modelFolder = SaveRandomisedModel(directory.File(architecture), architecture, seed: 31, calibrationImages: images);

        using var reference = InferenceEngines.Load(modelFolder, new EngineSelection(InferenceEngines.TorchSharp, "cpu"));
        using var onnx = InferenceEngines.Load(modelFolder, new EngineSelection(InferenceEngines.OnnxRuntime, "cpu"), threads: 2, maxBatch: 2);
        Assert.Equal(InferenceEngines.OnnxRuntime, onnx.Engine);
        Assert.Equal("cpu", onnx.Device);

        // maxBatch 2 over 5 images: full batches and a short last one share the preallocated buffers.
        var expected = reference.Probabilities(images);
        var actual = onnx.Probabilities(images);

        Assert.Equal(ImageCount, actual.Count);
        for (int i = 0; i < ImageCount; i++)
        {
            float difference = expected[i].Zip(actual[i], (e, a) => Math.Abs(e - a)).Max();
            output.WriteLine($"{architecture} image {i}: reference [{string.Join(", ", expected[i].Select(p => p.ToString("F5")))}], max |Δp| {difference:E2}");
            Assert.Equal(ArgMax(expected[i]), ArgMax(actual[i]));
            Assert.True(difference <= ProbabilityTolerance, $"{architecture} image {i}: max |Δp| = {difference:E2} > {ProbabilityTolerance:E0}");
            Assert.Equal(1.0, actual[i].Sum(), 4);
        }
        // Neither flat nor saturated, or the comparison would prove little.
        Assert.All(expected, p => Assert.InRange(p.Max(), 0.3f, 0.99f));

        // The features the out-of-scope score reads: every stage's pooled output, the same on both engines.
        var expectedFeatures = reference.Run(images).Features;
        var actualFeatures = onnx.Run(images).Features;
        int width = ModelRepository.ModelArchitectures.StageWidths(architecture).Sum();
        for (int i = 0; i < ImageCount; i++)
        {
            Assert.Equal(width, expectedFeatures[i].Length);
            Assert.Equal(width, actualFeatures[i].Length);
            float scale = Math.Max(1, expectedFeatures[i].Max(Math.Abs));
            float difference = expectedFeatures[i].Zip(actualFeatures[i], (e, a) => Math.Abs(e - a)).Max();
            output.WriteLine($"{architecture} image {i}: {width} stage features up to {scale:G3}, max |Δ| {difference:E2}");
            Assert.True(difference <= 1e-4f * scale, $"{architecture} image {i}: stage features differ by {difference:E2} (scale {scale:G3})");
        }
    }

    [Theory]
    [InlineData("resnet50", 64, 2)]     // layer4.1 and layer4.2's 3×3 convolutions see 2×2 maps (layer4.0's has stride 2)
    [InlineData("resnet50", 224, 0)]
    [InlineData("densenet201", 64, 32)] // every dense layer of the last block sees a 2×2 map
    [InlineData("densenet201", 96, 0)]
    public void Small_map_convolutions_are_written_as_matrix_products_only_where_the_map_is_tiny(string architecture, int inputSize, int expected)
    {
        // The parity test above runs at 64 px, so it runs these matrix products against the reference too.
        using var network = ParticleNetworks.Create(architecture, Classes.Length);
        var graph = OnnxNetworkGraphs.Write(architecture, NetworkWeights.Of(network), inputSize, Classes.Length);
        int matrixProducts = graph.Graph.Node.Count(n => n.OpType == "Gemm" && n.Input[1].EndsWith(".matrix", StringComparison.Ordinal));
        Assert.Equal(expected, matrixProducts);
    }

    [Fact]
    public void The_graph_is_cached_beside_the_weights_and_a_damaged_cache_is_rewritten()
    {
        using var directory = new TemporaryDirectory();
        string modelFolder = SaveRandomisedModel(directory.File("shufflenet"), "shufflenet_v2", seed: 5);
        var manifest = ModelFolder.ReadManifest(modelFolder);
        string cached = OnnxGraphCache.Locations(modelFolder, manifest)[0];
        var images = RandomPlanes(2, seed: 3);
        var selection = new EngineSelection(InferenceEngines.OnnxRuntime, "cpu");

        IReadOnlyList<float[]> first;
        using (var engine = InferenceEngines.Load(modelFolder, selection, threads: 2)) first = engine.Probabilities(images);
        Assert.True(File.Exists(cached), $"the graph should be cached at {cached}");
        Assert.Equal(cached, OnnxGraphCache.Read(modelFolder, manifest) is { FromCache: true } graph ? graph.Path : null);

        File.WriteAllBytes(cached, [1, 2, 3, 4]);
        using (var engine = InferenceEngines.Load(modelFolder, selection, threads: 2))
            Assert.Equal(first[0], engine.Probabilities(images)[0]);
        Assert.True(new FileInfo(cached).Length > 1000, "the damaged graph should have been written again");
    }

    [Fact]
    public void A_cached_graph_that_is_not_the_one_written_is_rebuilt_and_changed_weights_are_refused()
    {
        using var directory = new TemporaryDirectory();
        string modelFolder = SaveRandomisedModel(directory.File("shufflenet"), "shufflenet_v2", seed: 5);
        string otherFolder = SaveRandomisedModel(directory.File("other"), "shufflenet_v2", seed: 6);
        var manifest = ModelFolder.ReadManifest(modelFolder);
        string cached = OnnxGraphCache.Locations(modelFolder, manifest)[0];
        var images = RandomPlanes(2, seed: 3);
        var selection = new EngineSelection(InferenceEngines.OnnxRuntime, "cpu");

        IReadOnlyList<float[]> first;
        using (var engine = InferenceEngines.Load(modelFolder, selection, threads: 2)) first = engine.Probabilities(images);
        Assert.True(File.Exists(OnnxGraphCache.HashFile(cached)), "the graph's hash should be written beside it");

        // A valid graph of other weights under this model's name (what someone who can write the cache could leave):
        // ONNX Runtime would run it without complaint, and answer differently.
        byte[] foreign = OnnxGraphCache.Export(otherFolder);
        using (var impostor = InferenceEngines.Load(otherFolder, selection, threads: 2))
            Assert.NotEqual(first[0], impostor.Probabilities(images)[0]);
        // The graph that was checked is the graph that runs: the engine is made from the bytes that were hashed, so a file
        // swapped right after the check (the window a path would leave open) changes nothing.
        var checkedGraph = OnnxGraphCache.Read(modelFolder, manifest);
        Assert.True(checkedGraph.FromCache);
        File.WriteAllBytes(cached, foreign);
        using (INetworkEngine engine = new OnnxRuntimeEngine(checkedGraph, manifest.InputSize, manifest.Classes.Count,
                   (int)OnnxNetworkGraphs.FeatureWidth(manifest.Architecture), manifest.Normalization.ToChannelNormalization(), "cpu", threads: 2))
            Assert.Equal(first[0], engine.Probabilities(images)[0]);

        using (var engine = InferenceEngines.Load(modelFolder, selection, threads: 2))
            Assert.Equal(first[0], engine.Probabilities(images)[0]);
        Assert.NotEqual(foreign, File.ReadAllBytes(cached));

        // A graph whose hash file is gone is not trusted either: it is rebuilt, and gets its hash back.
        File.Delete(OnnxGraphCache.HashFile(cached));
        Assert.False(OnnxGraphCache.Read(modelFolder, manifest).FromCache);
        Assert.True(File.Exists(OnnxGraphCache.HashFile(cached)));

        // Weights that are not the manifest's are refused, cached graph or not, saying which file and why.
        string weights = Path.Combine(modelFolder, manifest.WeightsFile);
        File.AppendAllText(weights, "tampered");
        var refused = Assert.Throws<ModelDirectoryException>(() => InferenceEngines.Load(modelFolder, selection, threads: 2));
        Assert.Contains("does not match the manifest's", refused.Message);
        Assert.Contains(weights, refused.Message);
        output.WriteLine(refused.Message);
    }

    [Fact]
    public void Unknown_engines_and_unavailable_devices_are_refused_with_what_to_change()
    {
        Assert.Equal(new EngineSelection(InferenceEngines.OnnxRuntime, "cpu"), InferenceEngines.Resolve("auto", "cpu"));
        Assert.Equal(new EngineSelection(InferenceEngines.TorchSharp, "cpu"), InferenceEngines.Resolve("torchsharp", "cpu"));
        var unknown = Assert.Throws<ArgumentException>(() => InferenceEngines.Resolve("tensorflow", "cpu"));
        Assert.Contains("auto, onnxruntime, torchsharp", unknown.Message);
        if (!InferenceEngines.OnnxRuntimeCudaUsable)
        {
            var cuda = Assert.Throws<EngineUnavailableException>(() => InferenceEngines.Resolve("onnxruntime", "cuda"));
            Assert.Contains(InferenceEngines.OnnxRuntimeCudaProblem!, cuda.Message);
            if (!InferenceEngines.OnnxRuntimeHasCuda) Assert.Contains("-p:InferenceDevice=cuda", cuda.Message);
        }
    }

    /// <param name="calibrationImages">When given, the class head is scaled so these images' logits span about ±2:
    /// random weights otherwise give saturated probabilities, which would hide differences.</param>
    static string SaveRandomisedModel(string folder, string architecture, ulong seed, float[][]? calibrationImages = null)
    {
        manual_seed((long)seed);
        using var network = ParticleNetworks.Create(architecture, Classes.Length);
        BatchNormStatistics.SettleAndRandomise(network, seed);
        if (calibrationImages is not null) ScaleHead(network, architecture, calibrationImages);
        var data = new TrainingData("(random)", new string('0', 64), 0, Classes.ToDictionary(c => c, _ => 0), 0, 0);
        var recipe = new TrainingRecipe(0, 0, 0, 0, 0, "cpu", "none", "none", "none", null);
        ModelDirectory.Save(folder, network, sha => new ModelManifest(ModelManifest.CurrentFormat, architecture, Classes, InputSize,
            new NormalizationSpec([.. ChannelNormalization.ImageNet.Mean], [.. ChannelNormalization.ImageNet.Std]), ModelFolder.WeightsFileName, sha,
            data, recipe, new ValidationMetrics(0, 0, 0, [], []), [], DateTimeOffset.UtcNow));
        return folder;
    }

    static void ScaleHead(TorchSharp.torch.nn.Module<Tensor, Tensor> network, string architecture, float[][] images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = Data.InputBatches.ToTensor(images, InputSize, ChannelNormalization.ImageNet, CPU);
        var logits = network.call(input);
        // Centre each class, then scale, so no class wins every image.
        double spread = (logits - logits.mean([0], keepdim: true)).abs().max().item<float>();
        var head = network.named_parameters().Where(p => p.name.StartsWith(ParticleNetworks.ClassifierPrefix(architecture) + ".", StringComparison.Ordinal)).ToDictionary();
        var mean = logits.mean([0]);
        head[ParticleNetworks.ClassifierPrefix(architecture) + ".bias"].sub_(mean);
        foreach (var parameter in head.Values) parameter.mul_(2.0 / Math.Max(spread, 1e-6));
    }

    static float[][] RandomPlanes(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, 3 * InputSize * InputSize).Select(_ => random.NextSingle()).ToArray())];
    }

    static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());
}
