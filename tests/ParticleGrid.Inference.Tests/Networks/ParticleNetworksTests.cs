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
    [InlineData("resnet50", typeof(TorchSharp.Modules.ResNet))]
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
