using System.Security.Cryptography;
using System.Text.Json;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Networks;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ParticleGrid.Inference.Models;

/// <summary>A model folder that cannot be used; the message names the folder or file and the cause.</summary>
public sealed class ModelDirectoryException(string message) : Exception(message);

/// <summary>A network loaded from a model folder, in evaluation mode on its device.</summary>
public sealed class LoadedModel(ModelManifest manifest, string directory, Module<Tensor, Tensor> network, Device device,
    Domain.Confidence.OutOfScopeReference? outOfScopeReference = null) : IDisposable
{
    /// <summary>The in-scope feature reference the out-of-scope score is measured against (null: a model trained without one).</summary>
    public Domain.Confidence.OutOfScopeReference? OutOfScopeReference { get; } = outOfScopeReference;

    public ModelManifest Manifest { get; } = manifest;
    public string Directory { get; } = directory;
    public Module<Tensor, Tensor> Network { get; } = network;
    public Device Device { get; } = device;
    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Directory));
    public ChannelNormalization Normalization => Manifest.Normalization.ToChannelNormalization();
    public void Dispose() => Network.Dispose();
}

/// <summary>
/// A model folder: <c>weights.pth</c> (a PyTorch state_dict, loadable by torchvision) and <c>manifest.json</c>.
/// Written all at once: a new folder is filled beside the target and renamed into place, so a failed or stopped
/// training never leaves half a model.
/// </summary>
public static class ModelDirectory
{
    public const string WeightsFileName = "weights.pth";

    /// <summary>Creates the folder <paramref name="directory"/>, which must not exist or be empty, with weights and manifest.</summary>
    /// <summary>The out-of-scope reference's file name beside the weights.</summary>
    public const string OutOfScopeReferenceFileName = "out-of-scope-reference.bin";

    public static void Save(string directory, Module<Tensor, Tensor> network, Func<string, ModelManifest> manifestForWeightsSha256,
        Domain.Confidence.OutOfScopeReference? outOfScopeReference = null)
    {
        // "models/r50/" (as shells complete it) names the folder r50, not an empty name inside it.
        directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        EnsureWritableTarget(directory);
        string staging = Path.Combine(Path.GetDirectoryName(directory)!, $".{Path.GetFileName(directory)}.partial-{Environment.ProcessId}");
        if (System.IO.Directory.Exists(staging)) System.IO.Directory.Delete(staging, recursive: true);
        System.IO.Directory.CreateDirectory(staging);
        try
        {
            string weights = Path.Combine(staging, WeightsFileName);
            ParticleNetworks.SaveCheckpoint(network, weights);
            if (outOfScopeReference is not null)
                File.WriteAllBytes(Path.Combine(staging, OutOfScopeReferenceFileName), outOfScopeReference.ToBytes());
            var manifest = manifestForWeightsSha256(Sha256Of(weights)) with { WeightsFile = WeightsFileName };
            File.WriteAllText(Path.Combine(staging, ModelManifest.FileName), JsonSerializer.Serialize(manifest, ModelManifest.Json));
            if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory);
            System.IO.Directory.Move(staging, directory);
        }
        catch
        {
            if (System.IO.Directory.Exists(staging)) System.IO.Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary>Fails early, before any training, when <paramref name="directory"/> holds something already.</summary>
    public static void EnsureWritableTarget(string directory)
    {
        if (File.Exists(directory)) throw new ModelDirectoryException($"{directory}: exists and is a file; give a new folder for the model");
        if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
            throw new ModelDirectoryException($"{directory}: folder exists and is not empty; give a new folder for the model");
    }

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
        if (!ParticleNetworks.Architectures.Contains(manifest.Architecture))
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

    /// <summary>Loads a model folder: checks the weights against the manifest's SHA-256, then loads them strictly.</summary>
    public static LoadedModel Load(string directory, Device device)
    {
        var manifest = ReadManifest(directory);
        string weights = Path.Combine(directory, manifest.WeightsFile);
        if (!File.Exists(weights)) throw new ModelDirectoryException($"{weights}: weights file missing");
        string actual = Sha256Of(weights);
        if (!string.Equals(actual, manifest.WeightsSha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelDirectoryException($"{weights}: SHA-256 {actual[..12]}… does not match the manifest's {manifest.WeightsSha256[..12]}…; the weights were changed or damaged");

        var reference = LoadOutOfScopeReference(directory, manifest);
        var network = ParticleNetworks.Create(manifest.Architecture, manifest.Classes.Count);
        try
        {
            ParticleNetworks.LoadCheckpoint(network, manifest.Architecture, weights);
            network.to(device);
            network.eval();
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return new LoadedModel(manifest, directory, network, device, reference);
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
        var widths = Networks.ParticleNetworks.StageWidths(manifest.Architecture);
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
