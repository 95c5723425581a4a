using ParticleGrid.Inference.Networks;

namespace ParticleGrid.Inference.Tests.Networks;

public sealed class ParticleNetworksTests
{
    [Fact]
    public void Offers_the_three_architectures_by_torchvision_names()
    {
        Assert.Equal(["resnet50", "densenet201", "shufflenet_v2"], ParticleNetworks.Architectures);
    }

    [Theory]
    [InlineData("resnet50", typeof(ResNet50))]
    [InlineData("densenet201", typeof(DenseNet))]
    [InlineData("shufflenet_v2", typeof(ShuffleNetV2))]
    public void Creates_each_architecture(string architecture, Type expected)
    {
        using var model = ParticleNetworks.Create(architecture, classCount: 3);
        Assert.IsType(expected, model);
    }

    [Fact]
    public void An_unknown_architecture_is_refused_with_the_valid_names()
    {
        var refusal = Assert.Throws<ArgumentException>(() => ParticleNetworks.Create("vgg16", classCount: 3));
        Assert.Contains("'vgg16'", refusal.Message);
        Assert.Contains("resnet50, densenet201, shufflenet_v2", refusal.Message);
    }

    [Theory]
    [InlineData("resnet50", "fc")]
    [InlineData("densenet201", "classifier")]
    [InlineData("shufflenet_v2", "fc")]
    public void Names_each_classifier_as_torchvision_does(string architecture, string prefix)
    {
        Assert.Equal(prefix, ParticleNetworks.ClassifierPrefix(architecture));
    }
}

public sealed class ResNet50AgainstTorchVisionTests
{
    /// <summary>Ours replaces TorchSharp's TorchVision resnet50 (see ResNet50's remarks); it must be the same network.</summary>
    [Fact]
    public void Has_TorchVisions_state_dict_and_computes_the_same_logits()
    {
        using var ours = new ResNet50(classCount: 4);
        using var torchVision = TorchSharp.torchvision.models.resnet50(num_classes: 4);
        var ourState = ours.state_dict();
        var theirState = torchVision.state_dict();
        Assert.Equal(theirState.Keys, ourState.Keys);
        foreach (var key in theirState.Keys)
        {
            Assert.Equal(theirState[key].shape, ourState[key].shape);
            Assert.Equal(theirState[key].dtype, ourState[key].dtype);
        }

        Support.BatchNormStatistics.SettleAndRandomise(ours, seed: 21);
        torchVision.load_state_dict(ours.state_dict());
        torchVision.eval();
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var noGrad = TorchSharp.torch.no_grad();
        var images = TorchSharp.torch.randn(2, 3, 64, 64);
        var difference = (ours.call(images) - torchVision.call(images)).abs().max().item<float>();
        Assert.True(difference < 1e-5f, $"max |logit difference| {difference}");
    }
}
