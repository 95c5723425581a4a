namespace ParticleGrid.Inference.Networks;

/// <summary>
/// DenseNet-BC ("Densely Connected Convolutional Networks", Huang et al. 2017) built exactly as torchvision 0.14's
/// <c>torchvision.models.DenseNet</c>: the same module tree, so every state_dict key, shape and buffer matches
/// (<c>features.conv0.weight</c>, <c>features.denseblock1.denselayer1.norm1.running_mean</c>, …,
/// <c>classifier.weight</c>), the same forward maths and the same initialisation. PyTorch checkpoints load as they are.
/// </summary>
/// <remarks>Dropout inside dense layers (torchvision's <c>drop_rate</c>) is not offered: every torchvision DenseNet uses 0.</remarks>
public sealed class DenseNet : Module<Tensor, Tensor>, IParticleNetwork
{
    readonly Sequential features;
    readonly Linear classifier;

    /// <summary>torchvision's <c>densenet201()</c>: growth rate 32, dense blocks of 6, 12, 48 and 32 layers, 64 initial features, bottleneck width 4.</summary>
    public static DenseNet DenseNet201(int classCount) =>
        new(growthRate: 32, blockLayerCounts: [6, 12, 48, 32], initialFeatures: 64, bottleneckWidth: 4, classCount);

    /// <param name="growthRate">Feature maps each dense layer adds (k in the paper).</param>
    /// <param name="blockLayerCounts">How many dense layers each dense block has.</param>
    /// <param name="initialFeatures">Feature maps of the first (7×7) convolution.</param>
    /// <param name="bottleneckWidth">Multiplier of the growth rate for the 1×1 bottleneck convolution in each dense layer.</param>
    /// <param name="classCount">Outputs of the classifier.</param>
    public DenseNet(int growthRate, IReadOnlyList<int> blockLayerCounts, int initialFeatures, int bottleneckWidth, int classCount)
        : base(nameof(DenseNet))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);

        features = Sequential(
            ("conv0", Conv2d(3, initialFeatures, kernel_size: 7, stride: 2, padding: 3, bias: false)),
            ("norm0", new SafeBatchNorm2d(initialFeatures)),
            ("relu0", ReLU(inplace: true)),
            ("pool0", MaxPool2d(kernel_size: 3, stride: 2, padding: 1)));

        long channels = initialFeatures;
        for (int block = 0; block < blockLayerCounts.Count; block++)
        {
            features.append($"denseblock{block + 1}", new DenseBlock(blockLayerCounts[block], channels, growthRate, bottleneckWidth));
            channels += blockLayerCounts[block] * growthRate;

            bool lastBlock = block == blockLayerCounts.Count - 1;
            if (!lastBlock)
            {
                features.append($"transition{block + 1}", Transition(channels, channels / 2));
                channels /= 2;
            }
        }
        features.append("norm5", new SafeBatchNorm2d(channels));

        classifier = Linear(channels, classCount);

        RegisterComponents();
        InitialiseAsTorchvision();
    }

    /// <summary>
    /// torchvision's "official init from torch repo": Kaiming-normal convolutions (fan-in, gain √2),
    /// batch norms at weight 1 and bias 0, and a zero classifier bias (its weight keeps the default uniform init).
    /// </summary>
    void InitialiseAsTorchvision()
    {
        foreach (var (_, module) in named_modules())
        {
            switch (module)
            {
                case Conv2d convolution:
                    init.kaiming_normal_(convolution.weight);
                    break;
                case Linear linear:
                    init.zeros_(linear.bias);
                    break;
            }
        }
    }

    /// <summary>Images [N, 3, H, W] to class logits [N, classes].</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var activated = functional.relu(features.call(images), inplace: true);
        return scope.MoveToOuter(classifier.call(functional.adaptive_avg_pool2d(activated, [1, 1]).flatten(1)));
    }

    /// <inheritdoc/>
    /// <remarks>The stages end after each transition (its pooled, halved maps) and after <c>norm5</c> with its ReLU.</remarks>
    public Tensor StageFeatures(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = images;
        var pooled = new List<Tensor>(4);
        foreach (var (name, module) in features.named_children())
        {
            x = ((Module<Tensor, Tensor>)module).call(x);
            if (name.StartsWith("transition", StringComparison.Ordinal)) pooled.Add(x.mean([2, 3]));
        }
        pooled.Add(functional.relu(x).mean([2, 3]));
        return scope.MoveToOuter(torch.cat(pooled, 1));
    }

    /// <inheritdoc/>
    public Tensor Classify(Tensor stageFeatures) => classifier.call(ParticleNetworks.LastStage(stageFeatures, classifier.in_features));

    /// <summary>Between dense blocks: halve the channels (1×1 conv) and the resolution (2×2 average pool).</summary>
    static Sequential Transition(long inputChannels, long outputChannels) => Sequential(
        ("norm", new SafeBatchNorm2d(inputChannels)),
        ("relu", ReLU(inplace: true)),
        ("conv", Conv2d(inputChannels, outputChannels, kernel_size: 1, stride: 1, bias: false)),
        ("pool", AvgPool2d(kernel_size: 2, stride: 2)));

    /// <summary>
    /// Dense layers named <c>denselayer1</c>, <c>denselayer2</c>, …; each sees the block input and every earlier
    /// layer's output, concatenated on channels. The block returns all of them concatenated.
    /// </summary>
    sealed class DenseBlock : Module<Tensor, Tensor>
    {
        readonly List<DenseLayer> layers = [];

        public DenseBlock(int layerCount, long inputChannels, int growthRate, int bottleneckWidth) : base(nameof(DenseBlock))
        {
            for (int i = 0; i < layerCount; i++)
            {
                var layer = new DenseLayer(inputChannels + i * growthRate, growthRate, bottleneckWidth);
                layers.Add(layer);
                register_module($"denselayer{i + 1}", layer);
            }
        }

        public override Tensor forward(Tensor blockInput)
        {
            using var scope = NewDisposeScope();
            var featureMaps = new List<Tensor> { blockInput };
            foreach (var layer in layers)
            {
                using var concatenated = torch.cat(featureMaps, dim: 1);
                featureMaps.Add(layer.call(concatenated));
            }
            return scope.MoveToOuter(torch.cat(featureMaps, dim: 1));
        }
    }

    /// <summary>BN-ReLU-Conv1×1 (bottleneck to bottleneckWidth·k maps) then BN-ReLU-Conv3×3 (to k new maps).</summary>
    sealed class DenseLayer : Module<Tensor, Tensor>
    {
        readonly SafeBatchNorm2d norm1;
        readonly ReLU relu1;
        readonly Conv2d conv1;
        readonly SafeBatchNorm2d norm2;
        readonly ReLU relu2;
        readonly Conv2d conv2;

        public DenseLayer(long inputChannels, int growthRate, int bottleneckWidth) : base(nameof(DenseLayer))
        {
            long bottleneckChannels = (long)bottleneckWidth * growthRate;
            norm1 = new SafeBatchNorm2d(inputChannels);
            relu1 = ReLU(inplace: true);
            conv1 = Conv2d(inputChannels, bottleneckChannels, kernel_size: 1, stride: 1, bias: false);
            norm2 = new SafeBatchNorm2d(bottleneckChannels);
            relu2 = ReLU(inplace: true);
            conv2 = Conv2d(bottleneckChannels, growthRate, kernel_size: 3, stride: 1, padding: 1, bias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor concatenatedFeatures)
        {
            using var scope = NewDisposeScope();
            var bottleneck = conv1.call(relu1.call(norm1.call(concatenatedFeatures)));
            var newFeatures = conv2.call(relu2.call(norm2.call(bottleneck)));
            return scope.MoveToOuter(newFeatures);
        }
    }
}
