using ParticleGrid.Inference.Networks;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ParticleGrid.Inference.Tests.Support;

/// <summary>
/// Gives a fresh network batch-norm state that is neither default nor degenerate, so comparisons exercise every
/// running statistic and affine parameter. The same recipe lives in torchvision_reference.py.
/// </summary>
static class BatchNormStatistics
{
    /// <summary>
    /// Running statistics from one training-mode batch (momentum 1), so activations stay well scaled through the
    /// depth in eval mode (freshly initialised statistics make ResNet's logits explode and ShuffleNet's vanish),
    /// then seeded perturbations of every statistic and affine parameter. Leaves the model in eval mode.
    /// </summary>
    public static void SettleAndRandomise(Module<Tensor, Tensor> model, ulong seed)
    {
        var generator = new Generator(seed);
        var batchNorms = model.modules().OfType<SafeBatchNorm2d>().ToList();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        foreach (var batchNorm in batchNorms) batchNorm.Momentum = 1.0;
        model.train();
        model.call(randn([4, 3, 64, 64], generator: generator));

        foreach (var batchNorm in batchNorms)
        {
            batchNorm.Momentum = 0.1;
            long features = batchNorm.Features;
            batchNorm.Weight.copy_(Uniform(features, 0.75, 1.25, generator));
            batchNorm.Bias.copy_(Uniform(features, -0.1, 0.1, generator));
            batchNorm.RunningMean.add_(Uniform(features, -0.05, 0.05, generator));
            batchNorm.RunningVar.mul_(Uniform(features, 0.8, 1.25, generator));
            batchNorm.BatchesTracked.fill_(randint(1, 1000, [1], generator: generator).item<long>());
        }
        model.eval();
    }

    static Tensor Uniform(long count, double low, double high, Generator generator) =>
        rand([count], generator: generator) * (high - low) + low;
}
