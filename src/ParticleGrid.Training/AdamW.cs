using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ParticleGrid.Training;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov &amp; Hutter), with PyTorch's <c>torch.optim.AdamW</c> semantics,
/// optionally with a step scaled to each weight tensor's width:
/// <code>
/// p *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;  p -= s * lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
/// s = min(1, sqrt(widthReference / fan_in))  for matrices and kernels (fan_in = inputs per output), 1 for vectors
/// </code>
/// Why the width scale: Adam moves every weight by about lr whatever its layer, while a layer's weights are about
/// 1/sqrt(fan_in) in size, so one rate is too coarse for wide layers or too timid for narrow ones (as in muP). With it
/// the study's single rate suits ResNet50, DenseNet201 and ShuffleNetV2 from scratch (docs/training.md).
/// <c>widthReference</c> null gives plain AdamW. Every Scalar it passes to libtorch lives in a <c>using</c> local until
/// the step ends (see <see cref="NesterovSgd"/>).
/// </summary>
public sealed class AdamW(IReadOnlyList<Parameter> parameters, double weightDecay, double beta1 = 0.9, double beta2 = 0.999,
    double epsilon = 1e-8, double? widthReference = null) : IParticleOptimizer
{
    readonly Dictionary<Parameter, (Tensor Mean, Tensor Variance)> moments = [];
    readonly double[] widthScales = parameters.Select(p => WidthScale(p, widthReference)).ToArray();
    int steps;

    /// <summary>min(1, sqrt(reference / fan_in)) for a tensor of two or more dimensions; 1 otherwise.</summary>
    public static double WidthScale(Tensor parameter, double? reference)
    {
        if (reference is not { } r || parameter.dim() < 2) return 1;
        long fanIn = parameter.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        return Math.Min(1, Math.Sqrt(r / fanIn));
    }

    public void Step(double learningRate)
    {
        steps++;
        double firstCorrection = 1 - Math.Pow(beta1, steps), secondCorrection = 1 - Math.Pow(beta2, steps);
        using var noGrad = torch.no_grad();
        using var decay = (1 - learningRate * weightDecay).ToScalar();
        using var b1 = beta1.ToScalar();
        using var oneMinusB1 = (1 - beta1).ToScalar();
        using var b2 = beta2.ToScalar();
        using var oneMinusB2 = (1 - beta2).ToScalar();
        using var varianceScale = (1 / Math.Sqrt(secondCorrection)).ToScalar();
        using var eps = epsilon.ToScalar();
        using var one = 1.0.ToScalar();
        for (int i = 0; i < parameters.Count; i++)
        {
            var parameter = parameters[i];
            using var stepSize = (-learningRate * widthScales[i] / firstCorrection).ToScalar();
            using var grad = parameter.grad;
            if (grad is null) continue;
            if (!moments.TryGetValue(parameter, out var moment))
                moments[parameter] = moment = (torch.zeros_like(parameter).DetachFromDisposeScope(), torch.zeros_like(parameter).DetachFromDisposeScope());
            parameter.mul_(decay);
            moment.Mean.mul_(b1).add_(grad, oneMinusB1);
            moment.Variance.mul_(b2).addcmul_(grad, grad, oneMinusB2);
            using var root = moment.Variance.sqrt();
            using var denominator = root.mul_(varianceScale).add_(eps, one);
            parameter.addcdiv_(moment.Mean, denominator, stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var (mean, variance) in moments.Values) { mean.Dispose(); variance.Dispose(); }
        moments.Clear();
    }
}

/// <summary>An optimizer the trainer drives: one step per batch at the scheduled learning rate.</summary>
public interface IParticleOptimizer : IDisposable
{
    void Step(double learningRate);
}
