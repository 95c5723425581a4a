using System.Text.Json;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Networks;
using ParticleGrid.ModelRepository;

namespace ParticleGrid.Inference.Models;

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
    /// <summary>Creates the folder <paramref name="directory"/>, which must not exist or be empty, with weights and manifest.</summary>
    public static void Save(string directory, Module<Tensor, Tensor> network, Func<string, ModelManifest> manifestForWeightsSha256,
        Domain.Confidence.OutOfScopeReference? outOfScopeReference = null) =>
        Write(directory, weights => ParticleNetworks.SaveCheckpoint(network, weights), manifestForWeightsSha256, outOfScopeReference);

    /// <summary>
    /// Creates a model folder whose weights are a copy of <paramref name="weightsFile"/>, byte for byte: a refit keeps
    /// the very file (and so its SHA-256) that the model's lineage names, where saving the loaded network again would not.
    /// </summary>
    public static void SaveWithWeightsFile(string directory, string weightsFile, Func<string, ModelManifest> manifestForWeightsSha256,
        Domain.Confidence.OutOfScopeReference? outOfScopeReference = null) =>
        Write(directory, weights => File.Copy(weightsFile, weights), manifestForWeightsSha256, outOfScopeReference);

    static void Write(string directory, Action<string> writeWeights, Func<string, ModelManifest> manifestForWeightsSha256,
        Domain.Confidence.OutOfScopeReference? outOfScopeReference)
    {
        // "models/r50/" (as shells complete it) names the folder r50, not an empty name inside it.
        directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        EnsureWritableTarget(directory);
        string staging = Path.Combine(Path.GetDirectoryName(directory)!, $".{Path.GetFileName(directory)}.partial-{Environment.ProcessId}");
        if (System.IO.Directory.Exists(staging)) System.IO.Directory.Delete(staging, recursive: true);
        System.IO.Directory.CreateDirectory(staging);
        try
        {
            string weights = Path.Combine(staging, ModelFolder.WeightsFileName);
            writeWeights(weights);
            if (outOfScopeReference is not null)
                File.WriteAllBytes(Path.Combine(staging, ModelFolder.OutOfScopeReferenceFileName), outOfScopeReference.ToBytes());
            var manifest = manifestForWeightsSha256(ModelFolder.Sha256Of(weights)) with { WeightsFile = ModelFolder.WeightsFileName };
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

    /// <summary>Loads a model folder: checks the weights against the manifest's SHA-256, then loads them strictly.</summary>
    /// <param name="withOutOfScopeReference">False to skip the reference (a refit replaces it, so an outdated one must not stop it).</param>
    public static LoadedModel Load(string directory, Device device, bool withOutOfScopeReference = true)
    {
        var manifest = ModelFolder.ReadManifest(directory);
        string weights = Path.Combine(directory, manifest.WeightsFile);
        if (!File.Exists(weights)) throw new ModelDirectoryException($"{weights}: weights file missing");
        string actual = ModelFolder.Sha256Of(weights);
        if (!string.Equals(actual, manifest.WeightsSha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelDirectoryException($"{weights}: SHA-256 {actual[..12]}… does not match the manifest's {manifest.WeightsSha256[..12]}…; the weights were changed or damaged");

        var reference = withOutOfScopeReference ? ModelFolder.LoadOutOfScopeReference(directory, manifest) : null;
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

}
