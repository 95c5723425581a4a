using ParticleGrid.Domain;
using ParticleGrid.Inference;
using ParticleGrid.Inference.Native;
using ParticleGrid.Inference.Data;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Training.Data;

namespace ParticleGrid.Training;

/// <summary>
/// Fits a trained model's calibration and out-of-scope reference again, on the images and split it was trained with,
/// and writes the result as a new model folder with the same weights. Why: a model trained before ParticleGrid learnt a
/// better "unknown" (a new layout of the reference) need not be trained again, which on a CPU takes an hour, to get it;
/// its weights, and so its answers on in-scope particles, stay exactly as they were. The new folder has a new version
/// (its manifest changes), so lineage tells particles scored by either apart.
/// </summary>
public static class ConfidenceRefit
{
    public static ModelManifest Refit(string modelDirectory, string dataDirectory, string outputDirectory, string deviceName = "cpu",
        CancellationToken cancellation = default)
    {
        ModelDirectory.EnsureWritableTarget(outputDirectory);
        var device = ComputeDevices.Resolve(deviceName);
        using var model = ModelDirectory.Load(modelDirectory, device, withOutOfScopeReference: false);
        var manifest = model.Manifest;
        var folder = LabelledImageFolder.OpenForTraining(dataDirectory);
        // Only the images it was trained on reproduce its split: on others, the "validation" images could be ones its
        // weights learnt, and the threshold would keep fewer in-scope particles than the manifest says.
        if (folder.ContentHash() != manifest.Data.Sha256)
            throw new DataFolderException($"{dataDirectory}: not the images {modelDirectory} was trained on (content hash {folder.ContentHash()[..12]}, " +
                                          $"trained on {manifest.Data.Sha256[..12]} from {manifest.Data.Path})");
        if (!folder.Classes.SequenceEqual(manifest.Classes))
            throw new DataFolderException($"{dataDirectory}: classes {string.Join(", ", folder.Classes)}; the model has {string.Join(", ", manifest.Classes)}");

        var planes = InputBatches.LoadPlanes(folder.Images.Select(i => i.Path).ToList(), manifest.InputSize, null, cancellation);
        var labels = folder.Images.Select(i => i.Label).ToArray();
        var (train, validation) = StratifiedSplit.Split(labels, manifest.Training.ValidationFraction, manifest.Training.Seed);
        ConfidenceFitting.Fitted confidence;
        using (NativeSteps.Begin($"fitting the calibration and out-of-scope reference of {manifest.Architecture}"))
            confidence = ConfidenceFitting.Fit(model.Network, manifest.Architecture, train, validation, planes, labels, folder.Classes.Count,
                manifest.InputSize, model.Normalization, device);

        ModelManifest? written = null;
        ModelDirectory.SaveWithWeightsFile(outputDirectory, Path.Combine(modelDirectory, manifest.WeightsFile), sha => written = manifest with
        {
            WeightsSha256 = sha,
            CreatedUtc = DateTimeOffset.UtcNow,
            Calibration = confidence.Calibration,
            OutOfScope = confidence.OutOfScope,
        }, confidence.Reference);
        return written!;
    }
}
