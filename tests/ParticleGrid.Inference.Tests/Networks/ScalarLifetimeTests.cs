using ParticleGrid.Inference.Networks;
using ParticleGrid.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ParticleGrid.Inference.Tests.Networks;

/// <summary>
/// TorchSharp frees a temporary Scalar in its finalizer; a garbage collection started by another thread can do that
/// while libtorch reads it. Our BatchNorm, ResNet50 and optimizer hold their Scalars, so they stay right while another
/// thread collects garbage as fast as it can (TorchSharp's own BatchNorm2d failed ~15 times in 120,000 calls so).
/// </summary>
public sealed class ScalarLifetimeTests
{
    static void WhileGarbageIsCollected(Action work)
    {
        bool stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop)) { GC.KeepAlive(new byte[100]); GC.Collect(0); Thread.Sleep(0); }
        });
        collector.Start();
        try { work(); }
        finally { Volatile.Write(ref stop, true); collector.Join(); }
    }

    [Fact]
    public void Batch_norm_counts_every_training_batch_under_collection_pressure()
    {
        using var batchNorm = new SafeBatchNorm2d(8);
        batchNorm.train();
        using var input = randn(2, 8, 4, 4);
        const int Calls = 30_000;
        WhileGarbageIsCollected(() =>
        {
            for (int i = 0; i < Calls; i++) batchNorm.call(input).Dispose();
        });
        Assert.Equal(Calls, batchNorm.BatchesTracked.item<long>());
    }

    [Fact]
    public void Optimizer_steps_match_the_formula_under_collection_pressure()
    {
        using var weight = new TorchSharp.Modules.Parameter(torch.ones(4));
        using var optimizer = new NesterovSgd([weight], momentum: 0.9, weightDecay: 0.01);
        using var half = torch.full(4, 0.5f);
        double expected = 1, buffer = 0;
        WhileGarbageIsCollected(() =>
        {
            for (int step = 0; step < 200; step++)
            {
                using (var scope = NewDisposeScope())
                {
                    weight.grad?.zero_();
                    (weight * half).sum().backward(); // gradient 0.5 everywhere (a tensor factor: no temporary Scalar)
                }
                optimizer.Step(0.001);
                double g = 0.5 + 0.01 * expected;
                buffer = step == 0 ? g : 0.9 * buffer + g;
                expected -= 0.001 * (g + 0.9 * buffer);
            }
        });
        using var values = weight.detach();
        Assert.All(values.data<float>().ToArray(), v => Assert.Equal(expected, v, 4));
    }
}

/// <summary>AdamW, the default optimiser, against PyTorch's AdamW formula worked by hand, under collection pressure.</summary>
public sealed class AdamWTests
{
    [Fact]
    public void Steps_match_the_formula()
    {
        using var weight = new TorchSharp.Modules.Parameter(torch.ones(3));
        using var optimizer = new AdamW([weight], weightDecay: 0.01, beta1: 0.9, beta2: 0.99, epsilon: 1e-8);
        using var factors = torch.tensor(new[] { 0.5f, -2f, 0.1f });
        var expected = new double[] { 1, 1, 1 };
        var mean = new double[3];
        var variance = new double[3];
        double[] gradient = [0.5, -2, 0.1];
        for (int step = 1; step <= 50; step++)
        {
            double lr = 0.01 * (1 + step % 3); // a changing rate, as the schedule gives
            using (var scope = NewDisposeScope())
            {
                weight.grad?.zero_();
                (weight * factors).sum().backward();
            }
            optimizer.Step(lr);
            for (int i = 0; i < 3; i++)
            {
                expected[i] *= 1 - lr * 0.01;
                mean[i] = 0.9 * mean[i] + 0.1 * gradient[i];
                variance[i] = 0.99 * variance[i] + 0.01 * gradient[i] * gradient[i];
                double meanHat = mean[i] / (1 - Math.Pow(0.9, step)), varianceHat = variance[i] / (1 - Math.Pow(0.99, step));
                expected[i] -= lr * meanHat / (Math.Sqrt(varianceHat) + 1e-8);
            }
        }
        using var values = weight.detach();
        var actual = values.data<float>().ToArray();
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], actual[i], 4);
    }

    [Fact]
    public void Width_scale_shrinks_the_step_of_wide_layers_only()
    {
        using var wide = torch.zeros(2048, 1024, 1, 1);   // fan-in 1024
        using var narrow = torch.zeros(64, 3, 3, 3);      // fan-in 27
        using var bias = torch.zeros(2048);
        Assert.Equal(0.25, AdamW.WidthScale(wide, 64), 12);
        Assert.Equal(1, AdamW.WidthScale(narrow, 64));
        Assert.Equal(1, AdamW.WidthScale(bias, 64));
        Assert.Equal(1, AdamW.WidthScale(wide, null));

        // One step from zero moments moves each weight by about scale * lr (Adam's first step is lr * sign(g)).
        using var weight = new TorchSharp.Modules.Parameter(torch.ones(4, 1024));
        using var optimizer = new AdamW([weight], weightDecay: 0, widthReference: 64);
        using (var scope = NewDisposeScope()) weight.sum().backward();
        optimizer.Step(0.01);
        using var moved = weight.detach();
        Assert.All(moved.data<float>().ToArray(), v => Assert.Equal(1 - 0.01 * 0.25, v, 5));
    }
}
