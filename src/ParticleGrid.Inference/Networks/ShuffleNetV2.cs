namespace ParticleGrid.Inference.Networks;

/// <summary>
/// ShuffleNet V2 ("Practical Guidelines for Efficient CNN Architecture Design", Ma et al. 2018) built exactly as
/// torchvision 0.14's <c>torchvision.models.ShuffleNetV2</c>: the same module tree, so every state_dict key, shape
/// and buffer matches (<c>conv1.0.weight</c>, <c>stage2.0.branch1.0.weight</c>, <c>stage2.1.branch2.3.weight</c>, …,
/// <c>fc.weight</c>), and the same forward maths. PyTorch checkpoints load as they are.
/// </summary>
/// <remarks>
/// Like torchvision, this network keeps PyTorch's default layer initialisation (Kaiming-uniform convolutions
/// and linear layer, batch norms at weight 1 and bias 0), which TorchSharp's layers share.
/// </remarks>
public sealed class ShuffleNetV2 : Module<Tensor, Tensor>, IParticleNetwork
{
    readonly Sequential conv1;
    readonly MaxPool2d maxpool;
    readonly Sequential stage2;
    readonly Sequential stage3;
    readonly Sequential stage4;
    readonly Sequential conv5;
    readonly Linear fc;

    /// <summary>torchvision's <c>shufflenet_v2_x1_0()</c>: stages of 4, 8 and 4 units; channels 24, 116, 232, 464 and 1024.</summary>
    public static ShuffleNetV2 X1_0(int classCount) =>
        new(stageRepeats: [4, 8, 4], stageOutputChannels: [24, 116, 232, 464, 1024], classCount);

    /// <param name="stageRepeats">Units in stages 2, 3 and 4 (the first of each halves the resolution).</param>
    /// <param name="stageOutputChannels">Output channels of conv1, stages 2–4 and conv5.</param>
    /// <param name="classCount">Outputs of the classifier.</param>
    public ShuffleNetV2(IReadOnlyList<int> stageRepeats, IReadOnlyList<int> stageOutputChannels, int classCount)
        : base(nameof(ShuffleNetV2))
    {
        if (stageRepeats.Count != 3) throw new ArgumentException("ShuffleNetV2 needs the repeats of 3 stages.", nameof(stageRepeats));
        if (stageOutputChannels.Count != 5) throw new ArgumentException("ShuffleNetV2 needs 5 output channel counts.", nameof(stageOutputChannels));
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);

        int channels = stageOutputChannels[0];
        conv1 = Sequential(
            Conv2d(3, channels, kernel_size: 3, stride: 2, padding: 1, bias: false),
            new SafeBatchNorm2d(channels),
            ReLU(inplace: true));
        maxpool = MaxPool2d(kernel_size: 3, stride: 2, padding: 1);

        stage2 = Stage(ref channels, stageRepeats[0], stageOutputChannels[1]);
        stage3 = Stage(ref channels, stageRepeats[1], stageOutputChannels[2]);
        stage4 = Stage(ref channels, stageRepeats[2], stageOutputChannels[3]);

        conv5 = Sequential(
            Conv2d(channels, stageOutputChannels[4], kernel_size: 1, stride: 1, bias: false),
            new SafeBatchNorm2d(stageOutputChannels[4]),
            ReLU(inplace: true));

        fc = Linear(stageOutputChannels[4], classCount);

        RegisterComponents();
    }

    /// <summary>A down-sampling unit followed by <paramref name="repeats"/> − 1 units that keep the shape.</summary>
    static Sequential Stage(ref int channels, int repeats, int outputChannels)
    {
        var stage = Sequential(new InvertedResidual(channels, outputChannels, stride: 2));
        for (int i = 1; i < repeats; i++)
            stage.append(new InvertedResidual(outputChannels, outputChannels, stride: 1));
        channels = outputChannels;
        return stage;
    }

    /// <summary>Images [N, 3, H, W] to class logits [N, classes].</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = maxpool.call(conv1.call(images));
        x = stage4.call(stage3.call(stage2.call(x)));
        return scope.MoveToOuter(fc.call(conv5.call(x).mean([2, 3])));
    }

    /// <inheritdoc/>
    public Tensor StageFeatures(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = maxpool.call(conv1.call(images));
        var pooled = new List<Tensor>(4);
        foreach (var stage in new[] { stage2, stage3, stage4, conv5 })
        {
            x = stage.call(x);
            pooled.Add(x.mean([2, 3]));
        }
        return scope.MoveToOuter(torch.cat(pooled, 1));
    }

    /// <inheritdoc/>
    public Tensor Classify(Tensor stageFeatures) => fc.call(ParticleNetworks.LastStage(stageFeatures, fc.in_features));

    /// <summary>
    /// Interleaves the channels of <paramref name="groups"/> equal groups ([g0c0, g1c0, g0c1, g1c1, …]),
    /// so information crosses between the two branches of the next unit.
    /// </summary>
    static Tensor ChannelShuffle(Tensor x, int groups)
    {
        long batch = x.shape[0], channels = x.shape[1], height = x.shape[2], width = x.shape[3];
        return x.view(batch, groups, channels / groups, height, width)
            .transpose(1, 2)
            .contiguous()
            .view(batch, -1, height, width);
    }

    /// <summary>
    /// The ShuffleNet V2 unit. With stride 1 half the channels pass through untouched and branch2 transforms the
    /// other half; with stride 2 both branches see the whole input and each gives half the output. The halves are
    /// concatenated, then channel-shuffled.
    /// </summary>
    sealed class InvertedResidual : Module<Tensor, Tensor>
    {
        readonly int stride;
        // Empty (no keys) when stride is 1, as in torchvision.
        readonly Sequential branch1;
        readonly Sequential branch2;

        public InvertedResidual(int inputChannels, int outputChannels, int stride) : base(nameof(InvertedResidual))
        {
            if (stride is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(stride), stride, "ShuffleNetV2 units take strides 1 to 3.");
            int branchChannels = outputChannels / 2;
            if (stride == 1 && inputChannels != branchChannels * 2)
                throw new ArgumentException($"A stride-1 unit needs input channels ({inputChannels}) equal to twice half its output channels ({outputChannels}).");
            this.stride = stride;

            branch1 = stride > 1
                ? Sequential(
                    DepthwiseConv(inputChannels, stride),
                    new SafeBatchNorm2d(inputChannels),
                    Conv2d(inputChannels, branchChannels, kernel_size: 1, stride: 1, bias: false),
                    new SafeBatchNorm2d(branchChannels),
                    ReLU(inplace: true))
                : Sequential();

            branch2 = Sequential(
                Conv2d(stride > 1 ? inputChannels : branchChannels, branchChannels, kernel_size: 1, stride: 1, bias: false),
                new SafeBatchNorm2d(branchChannels),
                ReLU(inplace: true),
                DepthwiseConv(branchChannels, stride),
                new SafeBatchNorm2d(branchChannels),
                Conv2d(branchChannels, branchChannels, kernel_size: 1, stride: 1, bias: false),
                new SafeBatchNorm2d(branchChannels),
                ReLU(inplace: true));

            RegisterComponents();
        }

        static Conv2d DepthwiseConv(int channels, int stride) =>
            Conv2d(channels, channels, kernel_size: 3, stride: stride, padding: 1, groups: channels, bias: false);

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            Tensor joined;
            if (stride == 1)
            {
                var halves = x.chunk(2, dim: 1);
                joined = torch.cat([halves[0], branch2.call(halves[1])], dim: 1);
            }
            else
            {
                joined = torch.cat([branch1.call(x), branch2.call(x)], dim: 1);
            }
            return scope.MoveToOuter(ChannelShuffle(joined, groups: 2));
        }
    }
}
