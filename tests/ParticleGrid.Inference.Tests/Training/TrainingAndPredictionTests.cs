using ParticleGrid.Imaging;
using ParticleGrid.Inference.Data;
using ParticleGrid.Training.Data;
using ParticleGrid.Training.Evaluation;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Prediction;
using ParticleGrid.Training;
using TorchSharp;

namespace ParticleGrid.Inference.Tests.Training;

/// <summary>Training, the model folder, evaluation and prediction in-process, on a few synthetic images.</summary>
public sealed class TrainingAndPredictionTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pg-train-").FullName;
    string Data => Path.Combine(root, "data");
    public void Dispose() => Directory.Delete(root, recursive: true);

    sealed class RecordingObserver : ITrainingObserver
    {
        public List<EpochRecord> Epochs { get; } = [];
        public int Batches;
        public void LoadingImages(int done, int total) { }
        public void Started(string device, int trainCount, int validationCount, int batchesPerEpoch) { }
        public void BatchDone(int epoch, int batch, double runningLoss, double runningAccuracy, double imagesPerSecond) => Batches++;
        public void EpochDone(EpochRecord epoch, bool kept) => Epochs.Add(epoch);
    }

    [Fact]
    public void Trains_keeps_the_best_epoch_and_the_saved_model_reproduces_its_validation_figures()
    {
        SyntheticParticles.WriteDataset(Data, perClass: 8, seed: 11, imageSize: 32);
        var observer = new RecordingObserver();
        string modelDirectory = Path.Combine(root, "model");
        long liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        var manifest = new NetworkTrainer(new TrainingOptions("shufflenet_v2", Data, modelDirectory,
            Epochs: 3, BatchSize: 6, InputSize: 32, Seed: 4, Device: "cpu"), observer).Train();

        Assert.Equal(3, observer.Epochs.Count);
        Assert.Equal(3 * 4, observer.Batches); // 4 classes x 6 training images = 24 -> 4 batches of 6
        var best = observer.Epochs.MaxBy(e => (e.ValidationAccuracy, -e.ValidationLoss))!;
        Assert.Equal(best.Epoch, manifest.Validation.Epoch);
        Assert.Equal(best.ValidationAccuracy, manifest.Validation.Accuracy);
        // Training holds no tensors once it returns (every batch ran in a dispose scope).
        Assert.InRange(DisposeScopeManager.Statistics.ThreadTotalLiveCount - liveBefore, 0, 0);

        // The kept weights, loaded back, give the recorded validation accuracy on the same held-out images.
        using var model = ModelDirectory.Load(modelDirectory, torch.CPU);
        var folder = LabelledImageFolder.Open(Data);
        var labels = folder.Images.Select(i => i.Label).ToArray();
        var (_, validation) = Domain.StratifiedSplit.Split(labels, 0.3, 4);
        var planes = InputBatches.LoadPlanes(validation.Select(i => folder.Images[i].Path).ToList(), 32);
        var probabilities = new NetworkRunner(model.Network, 32, model.Normalization, torch.CPU).Probabilities(planes);
        double accuracy = validation.Select((image, k) => probabilities[k].AsSpan().IndexOf(probabilities[k].Max()) == labels[image]).Count(c => c) / (double)validation.Length;
        Assert.Equal(manifest.Validation.Accuracy, accuracy, 6);
    }

    /// <summary>
    /// Training ends by fitting the temperature (validation split) and the out-of-scope reference (training split, its
    /// threshold on the validation split); both are in the manifest, the reference beside the weights, and the version
    /// covers them, so a particle's lineage names exactly what judged it.
    /// </summary>
    [Fact]
    public void Training_fits_calibration_and_an_out_of_scope_reference_that_the_version_covers()
    {
        SyntheticParticles.WriteDataset(Data, perClass: 10, seed: 12, imageSize: 32);
        string modelDirectory = Path.Combine(root, "calibrated");

        var manifest = new NetworkTrainer(new TrainingOptions("shufflenet_v2", Data, modelDirectory,
            Epochs: 2, BatchSize: 6, InputSize: 32, Seed: 4, Device: "cpu")).Train();

        var calibration = Assert.IsType<ModelRepository.ConfidenceCalibration>(manifest.Calibration);
        Assert.InRange(calibration.Temperature, Domain.Confidence.TemperatureScaling.MinTemperature, Domain.Confidence.TemperatureScaling.MaxTemperature);
        Assert.True(calibration.NllAfter <= calibration.NllBefore + 1e-9, "the fitted temperature cannot make the validation NLL worse");
        var outOfScope = Assert.IsType<ModelRepository.OutOfScopeDetection>(manifest.OutOfScope);
        Assert.Equal(ConfidenceFitting.KeptShareTarget, outOfScope.KeptShareTarget);
        Assert.InRange(outOfScope.ValidationKeptShare, 0.9, 1.0);
        Assert.Equal(new[] { 116, 232, 464, 1024 }, outOfScope.StageWidths);
        Assert.Equal(116 + 232 + 464 + 1024, outOfScope.FeatureDimensions);
        Assert.NotEqual($"shufflenet_v2@{manifest.WeightsSha256[..12]}", manifest.Version);
        Assert.Equal(manifest.Version, (manifest with { }).Version);
        Assert.NotEqual(manifest.Version, (manifest with { Calibration = calibration with { Temperature = calibration.Temperature + 0.01 } }).Version);

        using (var model = ModelDirectory.Load(modelDirectory, torch.CPU))
        {
            Assert.NotNull(model.OutOfScopeReference);
            Assert.NotNull(model.OutOfScopeReference!.Appearance); // the image's own appearance is part of the score
            var result = ModelEvaluator.Evaluate([model], Data);
            var scored = Assert.Single(result.Models);
            Assert.Equal(calibration.Temperature, scored.Calibration.Temperature);
            Assert.InRange(scored.Calibration.EceAfter, 0, 1);
            Assert.NotNull(scored.OutOfScope);
            Assert.InRange(scored.OutOfScope!.InScopeKeptShare, 0.5, 1.0); // training images: mostly in scope by construction
        }

        // `particlegrid refit` on the same images and split fits the same temperature and reference: same weights, same
        // version (nothing that changes an answer changed). On other images it refuses: their split is not the model's.
        var refitted = ConfidenceRefit.Refit(modelDirectory, Data, Path.Combine(root, "refitted"));
        Assert.Equal(manifest.WeightsSha256, refitted.WeightsSha256);
        Assert.Equal(manifest.Version, refitted.Version);
        Assert.Equal(File.ReadAllBytes(Path.Combine(modelDirectory, outOfScope.ReferenceFile)),
                     File.ReadAllBytes(Path.Combine(root, "refitted", outOfScope.ReferenceFile)));
        string otherData = Path.Combine(root, "other-data");
        SyntheticParticles.WriteDataset(otherData, perClass: 10, seed: 13, imageSize: 32);
        var notItsData = Assert.Throws<DataFolderException>(() => ConfidenceRefit.Refit(modelDirectory, otherData, Path.Combine(root, "refit-other")));
        Assert.Contains("not the images", notItsData.Message);

        string reference = Path.Combine(modelDirectory, outOfScope.ReferenceFile);
        var bytes = File.ReadAllBytes(reference);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(reference, bytes);
        var error = Assert.Throws<ModelDirectoryException>(() => ModelDirectory.Load(modelDirectory, torch.CPU));
        Assert.Contains("does not match", error.Message);
    }

    [Fact]
    public void Prediction_memory_stays_flat_over_many_batches()
    {
        SyntheticParticles.WriteDataset(Data, perClass: 2, seed: 1, imageSize: 32);
        using var network = ParticleGrid.Inference.Networks.ParticleNetworks.Create("shufflenet_v2", 4);
        var classifier = new NetworkRunner(network, 32, ChannelNormalization.ImageNet, torch.CPU, batchSize: 2);
        var planes = InputBatches.LoadPlanes(LabelledImageFolder.Open(Data).Images.Select(i => i.Path).ToList(), 32);

        classifier.Probabilities(planes); // warm up
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 25; i++) classifier.Probabilities(planes); // 100 batches
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Ensemble_of_identical_models_scores_like_each_model()
    {
        SyntheticParticles.WriteDataset(Data, perClass: 6, seed: 2, imageSize: 32);
        string modelDirectory = Path.Combine(root, "model");
        new NetworkTrainer(new TrainingOptions("shufflenet_v2", Data, modelDirectory, Epochs: 1, BatchSize: 4, InputSize: 32, Device: "cpu")).Train();
        using var a = ModelDirectory.Load(modelDirectory, torch.CPU);
        using var b = ModelDirectory.Load(modelDirectory, torch.CPU);

        var result = ModelEvaluator.Evaluate([a, b], Data);

        Assert.Equal(24, result.ImageCount);
        Assert.NotNull(result.Ensemble);
        Assert.Equal(result.Models[0].Report.Accuracy, result.Ensemble!.Report.Accuracy, 9);
        Assert.Equal(0, result.Ensemble.Disagreements);
    }

    [Fact]
    public void A_failed_training_leaves_no_model_folder()
    {
        SyntheticParticles.WriteDataset(Data, perClass: 4, seed: 1, imageSize: 32);
        File.WriteAllBytes(Path.Combine(Data, "glass", "glass_00002.png"), []);
        string modelDirectory = Path.Combine(root, "model");

        var error = Assert.Throws<ParticleImageException>(() => new NetworkTrainer(
            new TrainingOptions("resnet50", Data, modelDirectory, Epochs: 1, InputSize: 32, Device: "cpu")).Train());

        Assert.Contains("glass_00002.png", error.Message);
        Assert.Contains("empty", error.Message);
        Assert.False(Directory.Exists(modelDirectory));
        Assert.Single(Directory.GetFileSystemEntries(root)); // only the data folder
    }
}
