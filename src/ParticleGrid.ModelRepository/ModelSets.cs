using System.Security.Cryptography;
using System.Text;

namespace ParticleGrid.ModelRepository;

/// <summary>A model set that cannot be used (the networks disagree on their classes, a folder is missing...).</summary>
public sealed class ModelSetException(string message) : Exception(message);

/// <summary>One network of a model set, as its manifest describes it.</summary>
/// <param name="Name">Unique within the set: the architecture ("resnet50"), numbered when it repeats.</param>
public sealed record ModelSetMember(string Name, string Directory, ModelManifest Manifest);

/// <summary>Reading and checking model sets: the networks an ensemble votes with, as folders written by <c>train</c>.</summary>
public static class ModelSets
{
    /// <summary>Reads every folder's manifest and checks that the networks score the same classes in the same order.</summary>
    /// <exception cref="ModelSetException">No folders, a folder that is not a model, or networks with different classes.</exception>
    public static IReadOnlyList<ModelSetMember> Read(IReadOnlyList<string> directories)
    {
        ArgumentNullException.ThrowIfNull(directories);
        if (directories.Count == 0) throw new ModelSetException("a model set needs at least one model folder");
        var manifests = directories.Select(directory =>
        {
            try { return (Directory: Path.GetFullPath(directory), Manifest: ModelFolder.ReadManifest(directory)); }
            catch (ModelDirectoryException e) { throw new ModelSetException(e.Message); }
        }).ToList();

        var first = manifests[0];
        foreach (var other in manifests.Skip(1))
        {
            if (!other.Manifest.Classes.SequenceEqual(first.Manifest.Classes))
            {
                throw new ModelSetException(
                    $"the networks of a set must score the same classes in the same order: {first.Directory} has " +
                    $"[{string.Join(", ", first.Manifest.Classes)}] but {other.Directory} has [{string.Join(", ", other.Manifest.Classes)}]");
            }
        }
        var names = UniqueNames([.. manifests.Select(m => m.Manifest.Architecture)]);
        return [.. manifests.Zip(names, (m, name) => new ModelSetMember(name, m.Directory, m.Manifest))];
    }

    /// <summary>The set's version: "set-" and 12 hex digits of a hash over its members' names and versions, in order.</summary>
    public static string VersionOf(IReadOnlyList<ModelSetMember> members)
    {
        string identity = string.Join('\n', members.Select(m => $"{m.Name}={m.Manifest.Version}"));
        return "set-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..12];
    }

    public const string EnsembleName = "ensemble";

    /// <summary>
    /// Names for reports, plots and JSON keys: each model's folder name, made unique (<c>model</c>, <c>model#2</c>) and
    /// kept apart from <see cref="EnsembleName"/>, since two runs' folders are often both called "model".
    /// </summary>
    public static IReadOnlyList<string> UniqueNames(IReadOnlyList<string> names)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal) { EnsembleName };
        return names.Select(name =>
        {
            string unique = name;
            for (int n = 2; !taken.Add(unique); n++) unique = $"{name}#{n}";
            return unique;
        }).ToList();
    }
}
