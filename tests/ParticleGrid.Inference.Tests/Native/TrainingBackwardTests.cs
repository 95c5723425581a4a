using ParticleGrid.Inference.Native;
using ParticleGrid.Training.Native;
using ParticleGrid.Inference.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace ParticleGrid.Inference.Tests.Native;

/// <summary>
/// A ResNet50 training step through its strided 1x1 convolutions (the 512-&gt;1024 and 1024-&gt;2048 downsamples where
/// oneDNN faults on CPUs without caches), on both routes: the same gradients, and oneDNN's flag as it was afterwards.
/// </summary>
public sealed class TrainingBackwardTests
{
    [Fact]
    public void Both_routes_give_the_same_gradients_through_ResNet50s_strided_1x1_convolutions()
    {
        // "auto" is oneDNN wherever this CPU allows it; on a CPU without caches it is the safe route too, and forcing
        // oneDNN there would kill this test host (NativeFaultTests prove that case in a child process).
        var fast = TrainingBackward.For(CPU, "auto");
        var safe = TrainingBackward.For(CPU, "off");
        Assert.Equal(BackwardRoute.LibTorchKernels, safe.Route);

        manual_seed(11);
        using var network = ParticleNetworks.Create("resnet50", 4);
        network.train();
        using var images = randn(4, 3, 32, 32);
        using var labels = tensor(new long[] { 0, 1, 2, 3 });

        var onFast = Gradients(network, images, labels, fast);
        var onSafe = Gradients(network, images, labels, safe);

        Assert.Equal(onFast.Keys, onSafe.Keys);
        Assert.Contains(onFast.Keys, name => name.EndsWith("downsample.0.weight", StringComparison.Ordinal));
        foreach (var (name, gradient) in onFast)
        {
            float scale = gradient.abs().max().item<float>();
            float difference = (gradient - onSafe[name]).abs().max().item<float>();
            Assert.True(difference <= 1e-4f * scale + 1e-6f, $"{name}: the routes differ by {difference} (largest gradient {scale})");
        }
        foreach (var gradient in onFast.Values.Concat(onSafe.Values)) gradient.Dispose();
    }

    [Fact]
    public void The_safe_route_turns_oneDNN_off_only_while_the_backward_pass_runs()
    {
        bool before = OneDnnSwitch.Enabled;
        var safe = TrainingBackward.Decide("off", CpuCacheTopology.Read());
        using (safe.Enter())
        {
            Assert.False(OneDnnSwitch.Enabled);
            using (safe.Enter()) Assert.False(OneDnnSwitch.Enabled); // nested scopes: still off
            Assert.False(OneDnnSwitch.Enabled);
        }
        Assert.Equal(before, OneDnnSwitch.Enabled);
        Assert.True(before, "libtorch enables oneDNN by default");
    }

    static Dictionary<string, Tensor> Gradients(nn.Module<Tensor, Tensor> network, Tensor images, Tensor labels, TrainingBackward route)
    {
        network.zero_grad();
        using (var scope = NewDisposeScope())
        {
            var loss = nn.functional.cross_entropy(network.call(images), labels);
            using (route.Enter()) loss.backward();
        }
        return network.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone());
    }
}
