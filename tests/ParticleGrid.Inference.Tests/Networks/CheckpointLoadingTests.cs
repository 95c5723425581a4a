using ParticleGrid.Inference.Networks;
using ParticleGrid.Inference.Tests.Support;
using static TorchSharp.torch;

namespace ParticleGrid.Inference.Tests.Networks;

/// <summary>What LoadCheckpoint and LoadBackbone accept, and how they explain what they refuse.</summary>
public sealed class CheckpointLoadingTests : IDisposable
{
    readonly TemporaryDirectory directory = new();

    public void Dispose() => directory.Dispose();

    [Fact]
    public void A_missing_file_is_named()
    {
        string path = directory.File("nowhere.pth");
        using var model = ParticleNetworks.Create("shufflenet_v2", 4);

        var refusal = Assert.Throws<CheckpointException>(() => ParticleNetworks.LoadCheckpoint(model, "shufflenet_v2", path));

        Assert.Equal($"Checkpoint '{path}' does not exist", refusal.Message);
        Assert.Equal(path, refusal.CheckpointPath);
    }

    [Fact]
    public void Random_bytes_are_not_a_state_dict()
    {
        string path = directory.File("noise.pth");
        var noise = new byte[4096];
        new Random(7).NextBytes(noise);
        File.WriteAllBytes(path, noise);
        using var model = ParticleNetworks.Create("shufflenet_v2", 4);

        var refusal = Assert.Throws<CheckpointException>(() => ParticleNetworks.LoadCheckpoint(model, "shufflenet_v2", path));

        AssertOneLineNaming(path, "is not a readable PyTorch state_dict (.pth)", refusal);
        Assert.NotNull(refusal.InnerException);
    }

    [Fact]
    public void A_truncated_checkpoint_is_not_a_state_dict()
    {
        string path = directory.File("half.pth");
        using var model = ParticleNetworks.Create("shufflenet_v2", 4);
        ParticleNetworks.SaveCheckpoint(model, path);
        byte[] whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);

        var refusal = Assert.Throws<CheckpointException>(() => ParticleNetworks.LoadBackbone(model, "shufflenet_v2", path));

        AssertOneLineNaming(path, "is not a readable PyTorch state_dict (.pth)", refusal);
    }

    [Fact]
    public void A_checkpoint_of_another_architecture_is_refused_with_the_keys_that_differ()
    {
        string path = directory.File("shufflenet.pth");
        using (var shuffleNet = ParticleNetworks.Create("shufflenet_v2", 4))
            ParticleNetworks.SaveCheckpoint(shuffleNet, path);
        using var denseNet = ParticleNetworks.Create("densenet201", 4);

        var strict = Assert.Throws<CheckpointException>(() => ParticleNetworks.LoadCheckpoint(denseNet, "densenet201", path));
        var backbone = Assert.Throws<CheckpointException>(() => ParticleNetworks.LoadBackbone(denseNet, "densenet201", path));

        AssertOneLineNaming(path,
            "is not a densenet201 checkpoint: 1207 keys missing, first: features.conv0.weight; 338 unexpected, first: conv1.0.weight",
            strict);
        // The backbone load sets densenet201's head keys (classifier.*) aside, in the file as in the model.
        AssertOneLineNaming(path,
            "is not a densenet201 checkpoint: 1205 keys missing, first: features.conv0.weight; 338 unexpected, first: conv1.0.weight",
            backbone);
    }

    [Fact]
    public void Tensors_of_other_shapes_are_named_with_both_shapes()
    {
        string path = directory.File("shufflenet_x0_5.pth");
        // torchvision's shufflenet_v2_x0_5: the same keys as x1.0, narrower stages.
        using (var narrow = new ShuffleNetV2([4, 8, 4], [24, 48, 96, 192, 1024], 4))
            ParticleNetworks.SaveCheckpoint(narrow, path);
        using var model = ParticleNetworks.Create("shufflenet_v2", 4);

        var refusal = Assert.Throws<CheckpointException>(() => ParticleNetworks.LoadBackbone(model, "shufflenet_v2", path));

        AssertOneLineNaming(path,
            "tensors differ in shape, first: stage2.0.branch1.2.weight is [24, 24, 1, 1] in the checkpoint but [58, 24, 1, 1] in the model",
            refusal);
    }

    [Fact]
    public void A_strict_load_names_a_head_with_another_class_count()
    {
        string path = directory.File("imagenet.pth");
        using (var imageNet = ParticleNetworks.Create("shufflenet_v2", 1000))
            ParticleNetworks.SaveCheckpoint(imageNet, path);
        using var model = ParticleNetworks.Create("shufflenet_v2", 4);

        var refusal = Assert.Throws<CheckpointException>(() => ParticleNetworks.LoadCheckpoint(model, "shufflenet_v2", path));

        AssertOneLineNaming(path,
            "has a 1000-class head but the shufflenet_v2 model has 4 classes (fc.weight is [1000, 1024] in the checkpoint, [4, 1024] in the model)",
            refusal);
    }

    [Fact]
    public void A_model_of_another_architecture_than_named_is_a_caller_error()
    {
        using var model = ParticleNetworks.Create("shufflenet_v2", 4);

        Assert.Throws<ArgumentException>(() => ParticleNetworks.LoadCheckpoint(model, "densenet201", directory.File("any.pth")));
    }

    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void An_imagenet_checkpoint_loads_as_backbone_and_the_fresh_head_stays(string architecture)
    {
        string path = directory.File($"{architecture}-imagenet.pth");
        using var scope = NewDisposeScope();
        using var imageNet = ParticleNetworks.Create(architecture, 1000);
        BatchNormStatistics.SettleAndRandomise(imageNet, seed: 11);
        ParticleNetworks.SaveCheckpoint(imageNet, path);
        Assert.False(File.Exists(path + ".partial"));

        using var model = ParticleNetworks.Create(architecture, 4);
        string head = ParticleNetworks.ClassifierPrefix(architecture) + ".";
        var freshHead = model.state_dict().Where(entry => entry.Key.StartsWith(head)).ToDictionary(entry => entry.Key, entry => entry.Value.clone());

        ParticleNetworks.LoadBackbone(model, architecture, path);

        var imageNetState = imageNet.state_dict();
        foreach (var (key, tensor) in model.state_dict())
        {
            var expected = key.StartsWith(head) ? freshHead[key] : imageNetState[key];
            Assert.Equal(expected.shape, tensor.shape);
            Assert.True(tensor.eq(expected).all().item<bool>(), $"{architecture}: {key} is not what it should be after the backbone load.");
        }
        Assert.Equal([4, imageNetState[head + "weight"].shape[1]], model.state_dict()[head + "weight"].shape);
    }

    static void AssertOneLineNaming(string path, string cause, CheckpointException refusal)
    {
        Assert.StartsWith($"Checkpoint '{path}' ", refusal.Message);
        Assert.True(refusal.Message.Contains(cause), $"Expected «{cause}» in «{refusal.Message}».");
        Assert.DoesNotContain('\n', refusal.Message);
        Assert.Equal(path, refusal.CheckpointPath);
    }
}
