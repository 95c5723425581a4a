using System.Security.Cryptography;
using System.Text.Json;

namespace ParticleGrid.ModelRepository;

/// <summary>A model folder that cannot be used; the message names the folder or file and the cause.</summary>
public sealed class ModelDirectoryException(string message) : Exception(message);

/// <summary>
/// What a model folder holds besides the network's weights, read without loading any network: <c>manifest.json</c>,
/// the out-of-scope reference, and the files' SHA-256. Gateways read model sets through this (the registry checks a
/// set before any worker loads it), so it needs neither TorchSharp nor ONNX Runtime.
/// </summary>
public static class ModelFolder
{
    /// <summary>The weights' file name: a PyTorch state_dict, loadable by torchvision.</summary>
    public const string WeightsFileName = "weights.pth";

    /// <summary>The out-of-scope reference's file name beside the weights.</summary>
    public const string OutOfScopeReferenceFileName = "out-of-scope-reference.bin";

    public static ModelManifest ReadManifest(string directory)
    {
        string path = Path.Combine(directory, ModelManifest.FileName);
        if (!System.IO.Directory.Exists(directory)) throw new ModelDirectoryException($"{directory}: model folder not found");
        if (!File.Exists(path)) throw new ModelDirectoryException($"{path}: missing; is this a folder written by 'particlegrid train'?");
        ModelManifest? manifest;
        try { manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), ModelManifest.Json); }
        catch (JsonException e) { throw new ModelDirectoryException($"{path}: not a valid manifest ({e.Message})"); }
        if (manifest is null || manifest.Format != ModelManifest.CurrentFormat)
            throw new ModelDirectoryException($"{path}: unknown manifest format '{manifest?.Format}'; expected {ModelManifest.CurrentFormat}");
        if (!ModelArchitectures.Names.Contains(manifest.Architecture))
            throw new ModelDirectoryException($"{path}: unknown architecture '{manifest.Architecture}'");
        string? problem = manifest switch
        {
            { Classes: null } or { Classes.Count: < 2 } => "a model needs at least two classes",
            _ when manifest.Classes.Any(string.IsNullOrWhiteSpace) || manifest.Classes.Distinct().Count() != manifest.Classes.Count
                => "class names must be distinct and not empty",
            { InputSize: < 32 or > 1024 } => $"input size {manifest.InputSize} is outside 32-1024 pixels",
            { Normalization: null } => "normalization is missing",
            _ when manifest.Normalization.Mean is not { Count: 3 } || manifest.Normalization.Std is not { Count: 3 }
                   || manifest.Normalization.Std.Any(s => !(s > 0)) => "normalization needs three means and three positive standard deviations",
            _ when string.IsNullOrWhiteSpace(manifest.WeightsFile) || Path.GetFileName(manifest.WeightsFile) != manifest.WeightsFile
                => "weightsFile must name a file in the model folder",
            _ when manifest.WeightsSha256 is not { Length: 64 } || !manifest.WeightsSha256.All(char.IsAsciiHexDigit)
                => "weightsSha256 must be 64 hexadecimal digits",
            _ => null,
        };
        if (problem is not null) throw new ModelDirectoryException($"{path}: {problem}");
        return manifest;
    }

    /// <summary>The model's out-of-scope reference, checked against the manifest's SHA-256; null for a model without one.</summary>
    public static Domain.Confidence.OutOfScopeReference? LoadOutOfScopeReference(string directory, ModelManifest manifest)
    {
        if (manifest.OutOfScope is not { } outOfScope) return null;
        string file = Path.Combine(directory, outOfScope.ReferenceFile);
        if (!File.Exists(file)) throw new ModelDirectoryException($"{file}: out-of-scope reference missing");
        if (!string.Equals(Sha256Of(file), outOfScope.ReferenceSha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelDirectoryException($"{file}: SHA-256 does not match the manifest's; the reference was changed or damaged");
        Domain.Confidence.OutOfScopeReference reference;
        try { reference = Domain.Confidence.OutOfScopeReference.FromBytes(File.ReadAllBytes(file)); }
        catch (InvalidDataException e) { throw new ModelDirectoryException($"{file}: {e.Message}"); }
        // Refused here, where the model set is loaded, rather than on the first particle a worker scores.
        var widths = ModelArchitectures.StageWidths(manifest.Architecture);
        if (!reference.Stages.Select(s => s.Width).SequenceEqual(widths))
            throw new ModelDirectoryException($"{file}: fitted on stages of {string.Join(" + ", reference.Stages.Select(s => s.Width))} features; " +
                                              $"{manifest.Architecture} gives {string.Join(" + ", widths)}");
        return reference;
    }

    public static string Sha256Of(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
