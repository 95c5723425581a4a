using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Networks;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>
/// What the benchmarks feed and run: the three networks with random weights (speed does not depend on what a network
/// learned) saved as real model folders, and synthetic particle images as an instrument would send them.
/// </summary>
public static class BenchModels
{
    public static readonly IReadOnlyList<string> Classes = [.. ParticleTypes.StudyTypes.Select(ParticleTypes.FolderName)];

    /// <summary>
    /// Model folders (random weights, a manifest saying so) for the three networks at one input size; folders an earlier
    /// call made under <paramref name="root"/> are reused.
    /// </summary>
    public static IReadOnlyList<string> CreateSet(string root, int inputSize)
    {
        var directories = new List<string>();
        foreach (var architecture in ParticleNetworks.Architectures)
        {
            string directory = Path.Combine(root, $"{architecture}-{inputSize}");
            directories.Add(directory);
            if (File.Exists(Path.Combine(directory, ModelManifest.FileName))) continue;   // made by an earlier section of this run
            using var network = ParticleNetworks.Create(architecture, Classes.Count);
            var data = new TrainingData("(random weights for benchmarks)", new string('0', 64), 0, Classes.ToDictionary(c => c, _ => 0), 0, 0);
            var recipe = new TrainingRecipe(0, 0, 0, 0, 0, "cpu", "none", "none", "none", null);
            var validation = new ValidationMetrics(0, 0, 0, [], []);
            ModelDirectory.Save(directory, network, sha => new ModelManifest(ModelManifest.CurrentFormat, architecture, Classes, inputSize,
                new NormalizationSpec([.. ChannelNormalization.ImageNet.Mean], [.. ChannelNormalization.ImageNet.Std]), ModelFolder.WeightsFileName, sha,
                data, recipe, validation, [], DateTimeOffset.UtcNow));
        }
        return directories;
    }

    /// <summary>PNG bytes of synthetic particles, 64 px, the four types in turn.</summary>
    public static byte[][] Images(int count) => [.. Enumerable.Range(0, count).Select(i =>
    {
        using var particle = SyntheticParticles.Draw(ParticleTypes.StudyTypes[i % 4], 64, 1.0, i);
        return particle.ToPng();
    })];
}
