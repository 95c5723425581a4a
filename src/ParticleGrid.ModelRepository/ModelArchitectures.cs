namespace ParticleGrid.ModelRepository;

/// <summary>
/// The network architectures a model folder may name (torchvision's names), and the facts about them that reading a
/// model folder needs without building the network: the widths of each stage's pooled output, which the out-of-scope
/// reference is fitted on (the last one is the classifier's input).
/// </summary>
public static class ModelArchitectures
{
    public const string ResNet50 = "resnet50";
    public const string DenseNet201 = "densenet201";
    public const string ShuffleNetV2 = "shufflenet_v2";

    public static IReadOnlyList<string> Names { get; } = [ResNet50, DenseNet201, ShuffleNetV2];

    /// <summary>ResNet50's four layers, DenseNet201's three transitions and its final block, ShuffleNetV2's stages 2-4 and conv5.</summary>
    /// <exception cref="ArgumentException">Not one of <see cref="Names"/>.</exception>
    public static IReadOnlyList<int> StageWidths(string architecture) => architecture switch
    {
        ResNet50 => [256, 512, 1024, 2048],
        DenseNet201 => [128, 256, 896, 1920],
        ShuffleNetV2 => [116, 232, 464, 1024],
        _ => throw new ArgumentException($"Unknown architecture '{architecture}'; valid ones are {string.Join(", ", Names)}.", nameof(architecture)),
    };
}
