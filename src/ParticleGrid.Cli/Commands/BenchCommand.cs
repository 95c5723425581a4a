using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Inference;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Inference.Prediction;
using SixLabors.ImageSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace ParticleGrid.Cli.Commands;

/// <summary>One stage's throughput.</summary>
public sealed record StageThroughput(string Stage, int Images, double Seconds, double ImagesPerSecond);

/// <summary>What <c>particlegrid bench</c> measured, in one run on one machine (ratios are what to compare).</summary>
public sealed record BenchReport(string Machine, int Threads, int InputSize, int BatchSize, IReadOnlyList<StageThroughput> Stages,
    double PreprocessingOverForward, string Verdict, DateTimeOffset AtUtc);

/// <summary>
/// <c>particlegrid bench</c>: where the time of classifying a particle goes on this machine. Measures decoding and
/// preprocessing (in parallel, as workers do it, off the grain threads) against the three networks' batched forward
/// pass at the same input size, and says whether preprocessing could become the bottleneck in front of the networks.
/// The networks have random weights: speed does not depend on what they learned.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "A short run (fewer images) for CI and a first look" };
        var size = new Option<int>("--input-size") { Description = "Network input side in pixels", DefaultValueFactory = _ => 64 };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the figures as JSON" };
        var device = ModelOptions.Device();
        var command = new Command("bench", "Measures preprocessing against the ensemble's forward pass on this machine and prints the ratio.")
        {
            quick, size, json, device,
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            int inputSize = parse.GetValue(size);
            if (inputSize is < 32 or > 1024) throw new ArgumentException("--input-size must be 32-1024 pixels");
            int images = parse.GetValue(quick) ? 64 : 512;
            var report = await Task.Run(() => Measure(images, inputSize, batchSize: 32, ComputeDevices.Resolve(parse.GetValue(device)!)), cancellation);
            Console.WriteLine($"{"stage",-48}{"images",8}{"seconds",10}{"images/s",12}");
            foreach (var stage in report.Stages) Console.WriteLine($"{stage.Stage,-48}{stage.Images,8}{stage.Seconds,10:F2}{stage.ImagesPerSecond,12:F1}");
            Console.WriteLine(report.Verdict);
            if (parse.GetValue(json) is { } file) await File.WriteAllTextAsync(file.FullName, JsonSerializer.Serialize(report, LotCommand.Json), cancellation);
            return 0;
        }));
        return command;
    }

    public static BenchReport Measure(int imageCount, int inputSize, int batchSize, Device device)
    {
        // Instrument-like inputs: PNG bytes of synthetic particles, 64 px, as a reader hands them over.
        var types = ParticleTypes.StudyTypes;
        var encoded = Enumerable.Range(0, imageCount).Select(i =>
        {
            using var particle = SyntheticParticles.Draw(types[i % types.Count], 64, 1.0, i);
            using var png = new MemoryStream();
            particle.Image.SaveAsPng(png);
            return png.ToArray();
        }).ToArray();

        var planes = new float[imageCount][];
        var preprocessing = Time(() => Parallel.For(0, imageCount, i =>
        {
            using var image = ParticleImageDecoder.Load(new MemoryStream(encoded[i]), $"image {i}");
            _ = ParticleMorphology.Measure(image, 1.0);
            planes[i] = ParticlePreprocessor.ToPlanes(image, inputSize);
        }));
        var stages = new List<StageThroughput> { Stage($"decode + measure + preprocess ({Environment.ProcessorCount} threads)", imageCount, preprocessing) };

        double ensembleSeconds = 0;
        foreach (var architecture in ParticleNetworks.Architectures)
        {
            using var network = ParticleNetworks.Create(architecture, types.Count);
            network.to(device);
            var classifier = new ParticleClassifier(network, inputSize, ChannelNormalization.ImageNet, device, batchSize);
            classifier.Probabilities(planes.Take(batchSize).ToList());   // warm-up
            double seconds = Time(() => classifier.Probabilities(planes));
            ensembleSeconds += seconds;
            stages.Add(Stage($"{architecture} forward (batch {batchSize}, {inputSize} px)", imageCount, seconds));
        }
        stages.Add(Stage("ensemble forward (the three networks)", imageCount, ensembleSeconds));

        double ratio = stages[0].ImagesPerSecond / stages[^1].ImagesPerSecond;
        string verdict = ratio >= 1
            ? $"preprocessing runs {ratio:F1}x as fast as the ensemble: it is not the bottleneck in front of the networks"
            : $"preprocessing runs at {ratio:F2}x the ensemble's speed: it IS the bottleneck on this machine";
        return new BenchReport($"{Environment.MachineName}, {device.type}", Environment.ProcessorCount, inputSize, batchSize, stages, ratio, verdict, DateTimeOffset.UtcNow);
    }

    private static StageThroughput Stage(string name, int images, double seconds) => new(name, images, seconds, images / seconds);

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }
}
