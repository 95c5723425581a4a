using System.Security.Cryptography;
using System.Text;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;

namespace ParticleGrid.Training.Data;

/// <summary>One image and the index of its class in <see cref="LabelledImageFolder.Classes"/>.</summary>
public sealed record LabelledImage(string Path, int Label);

/// <summary>A data folder bad enough that nothing can be trained or evaluated on it. The message names the path.</summary>
public sealed class DataFolderException(string message) : Exception(message);

/// <summary>
/// A folder with one sub-folder per class of single-particle images (DIR/bubble/*.png, DIR/glass/*.tif, ...),
/// as labs keep them and as <c>particlegrid synth</c> writes them. Classes are the folder names in ordinal order.
/// </summary>
public sealed class LabelledImageFolder
{
    public static readonly IReadOnlySet<string> ImageExtensions =
        new HashSet<string>([".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg", ".gif"], StringComparer.OrdinalIgnoreCase);

    public string Root { get; }
    public IReadOnlyList<string> Classes { get; }
    public IReadOnlyList<LabelledImage> Images { get; }

    LabelledImageFolder(string root, IReadOnlyList<string> classes, IReadOnlyList<LabelledImage> images)
        => (Root, Classes, Images) = (root, classes, images);

    /// <summary>Reads the folder's layout (not the pixels). Throws <see cref="DataFolderException"/> when it has no class folders or an empty one.</summary>
    public static LabelledImageFolder Open(string root)
    {
        if (!Directory.Exists(root)) throw new DataFolderException($"{root}: data folder not found");
        var classFolders = Directory.GetDirectories(root)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal)
            .ToList();
        if (classFolders.Count == 0)
            throw new DataFolderException($"{root}: no class folders (expected one folder per class, e.g. {Path.Combine(root, "bubble")}/*.png)");

        var classes = classFolders.Select(Path.GetFileName).Cast<string>().ToList();
        var images = new List<LabelledImage>();
        for (int label = 0; label < classFolders.Count; label++)
        {
            var files = Directory.EnumerateFiles(classFolders[label])
                .Where(f => ImageExtensions.Contains(Path.GetExtension(f)))
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToList();
            if (files.Count == 0)
                throw new DataFolderException($"{classFolders[label]}: class folder '{classes[label]}' has no images ({string.Join(", ", ImageExtensions.Order())})");
            images.AddRange(files.Select(f => new LabelledImage(f, label)));
        }
        return new LabelledImageFolder(root, classes, images);
    }

    /// <summary>
    /// Opens a folder to TRAIN on: as <see cref="Open"/>, but refuses a folder that holds out-of-scope material
    /// (a class folder named as an <see cref="OutOfScopeKind"/>, "fibre", "Schlieren", "debris", "agglomerates", or the
    /// <see cref="SyntheticParticles.OutOfScopeMarker"/> an out-of-scope set carries). Out-of-scope images exist to
    /// test the "unknown" answer; trained on, they would become a fifth class the model is sure of, and the test
    /// would prove nothing. Refusing, rather than skipping them, keeps a mix-up from passing unnoticed.
    /// </summary>
    public static LabelledImageFolder OpenForTraining(string root)
    {
        if (File.Exists(Path.Combine(root, SyntheticParticles.OutOfScopeMarker)))
            throw new DataFolderException(
                $"{root}: an out-of-scope test set ({SyntheticParticles.OutOfScopeMarker}); out-of-scope images test the 'unknown' answer and are never trained on");
        var folder = Open(root);
        foreach (string name in folder.Classes)
        {
            if (OutOfScopeKinds.TryParse(name, out OutOfScopeKind kind))
                throw new DataFolderException(
                    $"{Path.Combine(folder.Root, name)}: '{name}' is an out-of-scope kind ({OutOfScopeKinds.FolderName(kind)}), not one of the four types; " +
                    "out-of-scope images test the 'unknown' answer and are never trained on: move the folder out of the training data");
        }
        return folder;
    }

    /// <summary>The folder's images mapped onto another class list (a model's), failing on a class the model does not know.</summary>
    public IReadOnlyList<LabelledImage> LabelledFor(IReadOnlyList<string> modelClasses)
    {
        var map = new int[Classes.Count];
        for (int c = 0; c < Classes.Count; c++)
        {
            map[c] = modelClasses.ToList().IndexOf(Classes[c]);
            if (map[c] < 0)
                throw new DataFolderException($"{Path.Combine(Root, Classes[c])}: class '{Classes[c]}' is not one of the model's classes ({string.Join(", ", modelClasses)})");
        }
        return Images.Select(i => i with { Label = map[i.Label] }).ToList();
    }

    public int CountOf(int label) => Images.Count(i => i.Label == label);

    /// <summary>
    /// SHA-256 over every image's class, file name and content, in order: the same data gives the same hash wherever
    /// it lies, and any changed, added or removed image changes it. Recorded in the model manifest as the data's identity.
    /// </summary>
    public string ContentHash()
    {
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var image in Images)
        {
            all.AppendData(Encoding.UTF8.GetBytes($"{Classes[image.Label]}/{Path.GetFileName(image.Path)}\n"));
            using var file = File.OpenRead(image.Path);
            all.AppendData(SHA256.HashData(file));
        }
        return Convert.ToHexStringLower(all.GetHashAndReset());
    }
}
