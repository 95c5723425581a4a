using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ParticleGrid.Training;

/// <summary>
/// Stochastic gradient descent with Nesterov momentum and L2 weight decay, with PyTorch's <c>torch.optim.SGD</c>
/// semantics (dampening 0):
/// <code>
/// g = grad + weight_decay * p;  buf = momentum * buf + g;  g = g + momentum * buf;  p -= lr * g
/// </code>
/// Why not TorchSharp's own SGD: its managed step passes temporary <see cref="Scalar"/>s (alpha, lr) to native
/// code; a Scalar frees its native memory in a finalizer, so a garbage collection started by another thread can
/// free one while libtorch still reads it, which corrupts the step or throws (reproduced: "alpha must not be a
/// floating point number"). Here every Scalar lives in a <c>using</c> local until the step is done.
/// </summary>
public sealed class NesterovSgd(IReadOnlyList<Parameter> parameters, double momentum, double weightDecay) : IParticleOptimizer
{
    readonly Dictionary<Parameter, Tensor> momentumBuffers = [];

    public void Step(double learningRate)
    {
        using var noGrad = torch.no_grad();
        using var decay = weightDecay.ToScalar();
        using var mu = momentum.ToScalar();
        using var one = 1.0.ToScalar();
        using var descent = (-learningRate).ToScalar();
        foreach (var parameter in parameters)
        {
            using var grad = parameter.grad;
            if (grad is null) continue;
            using var decayed = grad.add(parameter, decay);
            if (!momentumBuffers.TryGetValue(parameter, out var buffer))
                momentumBuffers[parameter] = buffer = decayed.clone().DetachFromDisposeScope(); // under no_grad: no graph to detach
            else
                buffer.mul_(mu).add_(decayed, one);
            using var nesterov = decayed.add(buffer, mu);
            parameter.add_(nesterov, descent);
        }
    }

    public void Dispose()
    {
        foreach (var buffer in momentumBuffers.Values) buffer.Dispose();
        momentumBuffers.Clear();
    }
}
