namespace ParticleGrid.Inference.Networks;

/// <summary>
/// ResNet-50 ("Deep Residual Learning for Image Recognition", He et al. 2016; torchvision's v1.5 layout with the
/// stride on the 3×3 convolution) with torchvision's exact module tree: <c>conv1</c>, <c>bn1</c>, <c>layer1</c>…
/// <c>layer4</c> of Bottlenecks (<c>conv1..3</c>, <c>bn1..3</c>, <c>downsample.0/1</c>), <c>fc</c>. Every state_dict key,
/// shape and buffer equals torchvision's <c>resnet50()</c> and TorchSharp's TorchVision <c>resnet50()</c>; the tests hold
/// it against both.
/// </summary>
/// <remarks>
/// Why our own and not TorchVision's: TorchVision's modules use TorchSharp's BatchNorm2d and residual additions
/// with temporary Scalars, which a garbage collection on another thread can free while libtorch reads them (see
/// <see cref="SafeBatchNorm2d"/>). Here each residual addition uses a Scalar the module holds.
/// </remarks>
public sealed class ResNet50 : Module<Tensor, Tensor>, IParticleNetwork
{
    const int Expansion = 4;
    readonly Conv2d conv1;
    readonly SafeBatchNorm2d bn1;
    readonly ReLU relu;
    readonly MaxPool2d maxpool;
    readonly Sequential layer1;
    readonly Sequential layer2;
    readonly Sequential layer3;
    readonly Sequential layer4;
    readonly AdaptiveAvgPool2d avgpool;
    readonly Linear fc;

    public ResNet50(int classCount) : base("ResNet")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        conv1 = Conv2d(3, 64, kernel_size: 7, stride: 2, padding: 3, bias: false);
        bn1 = new SafeBatchNorm2d(64);
        relu = ReLU(inplace: true);
        maxpool = MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        long channels = 64;
        layer1 = Layer(ref channels, width: 64, blocks: 3, stride: 1);
        layer2 = Layer(ref channels, width: 128, blocks: 4, stride: 2);
        layer3 = Layer(ref channels, width: 256, blocks: 6, stride: 2);
        layer4 = Layer(ref channels, width: 512, blocks: 3, stride: 2);
        avgpool = AdaptiveAvgPool2d(1);
        fc = Linear(512 * Expansion, classCount);
        RegisterComponents();

        // torchvision's init: Kaiming-normal convolutions (fan-out, ReLU); BatchNorm weight 1 / bias 0 (its constructor);
        // the classifier keeps PyTorch's default Linear init.
        foreach (var (_, module) in named_modules())
            if (module is Conv2d convolution) init.kaiming_normal_(convolution.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
    }

    /// <summary>A stage of Bottlenecks; the first changes width and stride (with a 1×1 projection on the shortcut).</summary>
    static Sequential Layer(ref long channels, long width, int blocks, long stride)
    {
        long output = width * Expansion;
        var downsample = stride != 1 || channels != output
            ? Sequential(Conv2d(channels, output, kernel_size: 1, stride: stride, bias: false), new SafeBatchNorm2d(output))
            : null;
        var layer = Sequential(new Bottleneck(channels, width, stride, downsample));
        for (int i = 1; i < blocks; i++) layer.append(new Bottleneck(output, width, 1, null));
        channels = output;
        return layer;
    }

    /// <summary>
    /// torchvision's <c>zero_init_residual</c>: each Bottleneck's last BatchNorm starts at weight 0, so every residual
    /// block starts as the identity and a network trained from scratch starts shallow and stable (Goyal et al. 2017).
    /// </summary>
    public void ZeroInitialiseResiduals()
    {
        using var noGrad = torch.no_grad();
        foreach (var block in modules().OfType<Bottleneck>()) block.LastBatchNorm.Weight.zero_();
    }

    /// <summary>Images [N, 3, H, W] to class logits [N, classes].</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = maxpool.call(relu.call(bn1.call(conv1.call(images))));
        x = layer4.call(layer3.call(layer2.call(layer1.call(x))));
        return scope.MoveToOuter(fc.call(avgpool.call(x).flatten(1)));
    }

    /// <inheritdoc/>
    public Tensor StageFeatures(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = maxpool.call(relu.call(bn1.call(conv1.call(images))));
        var pooled = new List<Tensor>(4);
        foreach (var layer in new[] { layer1, layer2, layer3, layer4 })
        {
            x = layer.call(x);
            pooled.Add(avgpool.call(x).flatten(1));
        }
        return scope.MoveToOuter(torch.cat(pooled, 1));
    }

    /// <inheritdoc/>
    public Tensor Classify(Tensor stageFeatures) => fc.call(ParticleNetworks.LastStage(stageFeatures, fc.in_features));

    /// <summary>1×1 reduce, 3×3 (carrying the stride), 1×1 expand ×4, plus the shortcut, then ReLU.</summary>
    sealed class Bottleneck : Module<Tensor, Tensor>
    {
        // Declared in torchvision's order: parameters come out in the same order as PyTorch's.
        readonly Conv2d conv1;
        readonly SafeBatchNorm2d bn1;
        readonly Conv2d conv2;
        readonly SafeBatchNorm2d bn2;
        readonly Conv2d conv3;
        readonly SafeBatchNorm2d bn3;
        readonly ReLU relu;
        readonly Sequential? downsample;
        readonly Scalar one = 1.ToScalar();

        public Bottleneck(long inputChannels, long width, long stride, Sequential? downsample) : base(nameof(Bottleneck))
        {
            conv1 = Conv2d(inputChannels, width, kernel_size: 1, bias: false);
            bn1 = new SafeBatchNorm2d(width);
            conv2 = Conv2d(width, width, kernel_size: 3, stride: stride, padding: 1, bias: false);
            bn2 = new SafeBatchNorm2d(width);
            conv3 = Conv2d(width, width * Expansion, kernel_size: 1, bias: false);
            bn3 = new SafeBatchNorm2d(width * Expansion);
            relu = ReLU(inplace: true);
            this.downsample = downsample;
            RegisterComponents();
        }

        public SafeBatchNorm2d LastBatchNorm => bn3;

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var x = relu.call(bn1.call(conv1.call(input)));
            x = relu.call(bn2.call(conv2.call(x)));
            x = bn3.call(conv3.call(x));
            var shortcut = downsample is null ? input : downsample.call(input);
            x.add_(shortcut, one);
            return scope.MoveToOuter(relu.call(x));
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) one.Dispose();
            base.Dispose(disposing);
        }
    }
}
