using System.Diagnostics;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Inference.Prediction;
using TorchSharp;
using static TorchSharp.torch;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>One network (or the ensemble) at one input size and batch size: the limit of this machine for our models.</summary>
public sealed record ForwardResult(string Network, int InputSize, int BatchSize, int Images, double Seconds, double ImagesPerSecond);

/// <summary>Raw batched forward passes (softmax included), no decoding, no cluster: what everything else is compared to.</summary>
public static class ForwardBenchmark
{
    public static IReadOnlyList<ForwardResult> Run(IReadOnlyList<int> sizes, IReadOnlyList<int> batches, Func<int, int> imagesFor, Device device,
        Action<string>? progress = null)
    {
        var results = new List<ForwardResult>();
        var random = new Random(1);
        foreach (int size in sizes)
        {
            foreach (var architecture in ParticleNetworks.Architectures)
            {
                using var network = ParticleNetworks.Create(architecture, BenchModels.Classes.Count);
                network.to(device);
                network.eval();
                foreach (int batch in batches)
                {
                    int count = imagesFor(batch);
                    var planes = Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, 3 * size * size).Select(_ => (float)random.NextDouble()).ToArray()).ToList();
                    var classifier = new ParticleClassifier(network, size, ChannelNormalization.ImageNet, device, batch);
                    classifier.Probabilities(planes.Take(batch).ToList());   // warm-up: allocator, kernels
                    var clock = Stopwatch.StartNew();
                    classifier.Probabilities(planes);
                    double seconds = clock.Elapsed.TotalSeconds;
                    results.Add(new ForwardResult(architecture, size, batch, count, seconds, count / seconds));
                    progress?.Invoke($"forward {architecture} {size} px batch {batch}: {count / seconds:F1} images/s");
                }
            }
            foreach (int batch in batches)
            {
                // The ensemble runs the three networks one after the other on the same images.
                var parts = results.Where(r => r.InputSize == size && r.BatchSize == batch).ToList();
                double secondsPerImage = parts.Sum(p => p.Seconds / p.Images);
                results.Add(new ForwardResult("ensemble", size, batch, parts.Min(p => p.Images), secondsPerImage * parts.Min(p => p.Images), 1 / secondsPerImage));
            }
        }
        return results;
    }
}
