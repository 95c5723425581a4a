using ParticleGrid.Inference.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace ParticleGrid.Inference.Tests.Networks;

/// <summary>Whole passes through each network at a particle-crop size: the output shape, no tensors left behind, gradients everywhere.</summary>
public sealed class NetworkPassTests
{
    const int ClassCount = 5;
    const int BatchSize = 3;
    const int ImageSize = 64;

    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void Gives_one_row_of_class_logits_per_image(string architecture)
    {
        using var model = ParticleNetworks.Create(architecture, ClassCount);
        model.eval();
        using var noGrad = no_grad();
        using var images = randn(BatchSize, 3, ImageSize, ImageSize);

        using var logits = model.call(images);

        Assert.Equal([BatchSize, ClassCount], logits.shape);
        Assert.True(logits.isfinite().all().item<bool>());
    }

    /// <summary>
    /// The out-of-scope score reads every stage; the classifier must still read exactly what the plain forward gives it,
    /// so the logits through the split equal the forward's, and the stage widths are the ones a reference is fitted on.
    /// </summary>
    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void Stage_features_have_the_stated_widths_and_their_last_block_is_what_the_classifier_reads(string architecture)
    {
        using var model = ParticleNetworks.Create(architecture, ClassCount);
        model.eval();
        using var noGrad = no_grad();
        using var images = randn(BatchSize, 3, ImageSize, ImageSize);
        var split = Assert.IsAssignableFrom<IParticleNetwork>(model);

        using var stages = split.StageFeatures(images);
        using var throughSplit = split.Classify(stages);
        using var forward = model.call(images);

        Assert.Equal([BatchSize, (long)ModelRepository.ModelArchitectures.StageWidths(architecture).Sum()], stages.shape);
        Assert.True(stages.isfinite().all().item<bool>());
        Assert.True(throughSplit.allclose(forward, rtol: 1e-5, atol: 1e-6), $"{architecture}: logits through the stage features differ from the forward's");
        // Every stage carries signal: a block of zeros would make its Gaussians degenerate.
        int offset = 0;
        foreach (int width in ModelRepository.ModelArchitectures.StageWidths(architecture))
        {
            using var block = stages.narrow(1, offset, width);
            Assert.True(block.abs().sum().item<float>() > 0, $"{architecture}: stage at {offset} (+{width}) is all zeros");
            offset += width;
        }
    }

    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void Repeated_forwards_in_dispose_scopes_leave_no_tensors_alive(string architecture)
    {
        using var model = ParticleNetworks.Create(architecture, ClassCount);
        model.eval();
        using var noGrad = no_grad();
        using var image = randn(1, 3, ImageSize, ImageSize); // one image: tensors leak per call, not per image
        Classify(model, image); // anything created once, on first use, is not a leak

        long liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 20; i++)
            Classify(model, image);
        long liveAfter = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.Equal(liveBefore, liveAfter);
    }

    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void A_forward_outside_any_scope_leaves_only_its_output(string architecture)
    {
        using var model = ParticleNetworks.Create(architecture, ClassCount);
        model.eval();
        using var noGrad = no_grad();
        using var images = randn(BatchSize, 3, ImageSize, ImageSize);
        model.call(images).Dispose();

        long liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var logits = model.call(images);
        long liveWithOutput = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        logits.Dispose();

        Assert.Equal(liveBefore + 1, liveWithOutput);
        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    /// <remarks>The forwards dispose their intermediate tensors as they go; autograd must still reach every weight.</remarks>
    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void A_training_step_reaches_every_parameter(string architecture)
    {
        using var model = ParticleNetworks.Create(architecture, ClassCount);
        model.train();
        using var scope = NewDisposeScope();
        var images = randn(2, 3, ImageSize, ImageSize);
        var labels = tensor(new long[] { 0, 3 });

        var loss = nn.functional.cross_entropy(model.call(images), labels);
        loss.backward();

        var withoutGradient = model.named_parameters()
            .Where(parameter => parameter.parameter.grad is not { } gradient || gradient.abs().sum().item<float>() == 0)
            .Select(parameter => parameter.name)
            .ToList();
        Assert.True(withoutGradient.Count == 0, $"{architecture}: {withoutGradient.Count} parameters got no gradient, first: {withoutGradient.FirstOrDefault()}.");
    }

    static long[] Classify(nn.Module<Tensor, Tensor> model, Tensor images)
    {
        using var scope = NewDisposeScope();
        return model.call(images).argmax(1).data<long>().ToArray();
    }
}
