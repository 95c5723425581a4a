using System.Text.Json;
using System.Text.Json.Nodes;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>
/// The three real networks trained for one epoch at 32 px on a few synthetic images: real model folders, fast
/// enough for cluster tests (what they vote is not the point here, where it goes and how often is). They are trained
/// by the real <c>particlegrid train</c> in its own process, so a native fault there (oneDNN's SIGFPE on CPUs without
/// caches took this test host down once, with no word of why) fails the tests with the command's one-line report.
/// </summary>
public sealed class TinyModels : IDisposable
{
    public const int InputSize = 32;
    public static readonly string[] Architectures = ["shufflenet_v2", "resnet50", "densenet201"];

    public TinyModels()
    {
        Root = Path.Combine(Path.GetTempPath(), $"pg-tiny-models-{Guid.NewGuid():N}");
        string data = Path.Combine(Root, "data");
        SyntheticParticles.WriteDataset(data, perClass: 5, seed: 3, imageSize: InputSize);
        Directories = [.. Architectures.Select(architecture =>
        {
            string directory = Path.Combine(Root, architecture);
            var training = CliProcess.Run(Root, "train", "--data", data, "--arch", architecture, "--out", directory,
                "--epochs", "1", "--batch", "8", "--input-size", $"{InputSize}", "--device", "cpu", "--seed", "42");
            if (training.ExitCode != 0)
                throw new InvalidOperationException($"training the tiny {architecture} failed: {training.Error.Trim().Split('\n').LastOrDefault()}\n{training}");
            return directory;
        })];

        // The same ShuffleNet, but its manifest lists the classes in another order: a set with it must be refused.
        MismatchedDirectory = Path.Combine(Root, "shufflenet_v2-other-classes");
        Directory.CreateDirectory(MismatchedDirectory);
        foreach (var file in Directory.GetFiles(Directories[0])) File.Copy(file, Path.Combine(MismatchedDirectory, Path.GetFileName(file)));
        string manifestPath = Path.Combine(MismatchedDirectory, "manifest.json");
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        var classes = manifest["classes"]!.AsArray().Select(c => c!.GetValue<string>()).Reverse().ToArray();
        manifest["classes"] = new JsonArray([.. classes.Select(c => (JsonNode)JsonValue.Create(c)!)]);
        File.WriteAllText(manifestPath, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public string Root { get; }

    /// <summary>
    /// Copies of the three models whose out-of-scope threshold is set to <paramref name="threshold"/> (their versions
    /// change with it): a tiny threshold makes every particle "unknown", a huge one none.
    /// </summary>
    public IReadOnlyList<string> WithOutOfScopeThreshold(double threshold)
    {
        string root = Path.Combine(Root, $"threshold-{threshold:R}");
        return [.. Directories.Select(directory =>
        {
            string copy = Path.Combine(root, Path.GetFileName(directory));
            if (Directory.Exists(copy)) return copy;
            Directory.CreateDirectory(copy);
            foreach (var file in Directory.GetFiles(directory)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            string manifestPath = Path.Combine(copy, "manifest.json");
            var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
            manifest["outOfScope"]!["threshold"] = threshold;
            File.WriteAllText(manifestPath, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return copy;
        })];
    }

    public IReadOnlyList<string> Directories { get; }

    public string MismatchedDirectory { get; }

    /// <summary>A synthetic particle image as an instrument would send it (PNG bytes) and its true ECD.</summary>
    public static (byte[] Png, double EcdMicrometres) Particle(ParticleType type, int seed)
    {
        using var particle = SyntheticParticles.Draw(type, 40, 0.7, seed);
        return (particle.ToPng(), particle.EcdMicrometres);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class TinyModelsCollection : ICollectionFixture<TinyModels>
{
    public const string Name = "tiny models";
}
