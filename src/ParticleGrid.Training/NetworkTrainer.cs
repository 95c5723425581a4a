using System.Diagnostics;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Data;
using ParticleGrid.Training.Data;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Native;
using ParticleGrid.Training.Native;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Inference.Prediction;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using ParticleGrid.Inference;

namespace ParticleGrid.Training;

/// <summary>
/// What to train and how. Epochs, learning rate, batch size, input size and split are the reference study's
/// (10, 0.00625, 16, 224 px, 70/30); the optimiser and schedule are ours (see <see cref="NetworkTrainer"/>).
/// <see cref="OneDnnBackward"/> is <see cref="TrainingBackward"/>'s setting (auto, on, off); null takes
/// PARTICLEGRID__TRAINING__ONEDNNBACKWARD, else auto. It changes speed, never the result.
/// </summary>
public sealed record TrainingOptions(
    string Architecture, string DataDirectory, string ModelDirectory,
    int Epochs = 10, double LearningRate = 0.00625, int BatchSize = 16, int InputSize = 224,
    double ValidationFraction = 0.3, int Seed = 42, string Device = "auto", string? InitialWeights = null,
    string Optimizer = NetworkTrainer.DefaultOptimizer, string? OneDnnBackward = null);

/// <summary>What a trainer tells whoever watches it (the CLI draws progress bars from these).</summary>
/// <summary>Training cannot go on: the loss is no longer a number. The message says where and what to try.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>An <see cref="IProgress{T}"/> that reports on the reporting thread, in order (Progress&lt;T&gt; posts to the thread pool).</summary>
public sealed class ImmediateProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

public interface ITrainingObserver
{
    void LoadingImages(int done, int total);
    void Started(string device, int trainCount, int validationCount, int batchesPerEpoch);
    void BatchDone(int epoch, int batch, double runningLoss, double runningAccuracy, double imagesPerSecond);
    void EpochDone(EpochRecord epoch, bool kept);

    /// <summary>The temperature and out-of-scope threshold were fitted (after the last epoch).</summary>
    void Calibrated(ConfidenceCalibration calibration, OutOfScopeDetection outOfScope) { }
}

/// <summary>
/// Trains one network on a folder of class folders, as the study did: seeded stratified split, augmentation that
/// suits particles, and the best epoch's weights kept (highest validation accuracy, then lowest loss).
/// Optimiser: AdamW by default (Nesterov SGD on request); the learning rate warms up linearly over the first two
/// epochs (at most a fifth of the run), then follows a cosine down to zero. Each epoch's validation runs after "precise
/// BatchNorm". The same seed gives the same split, initialisation, order and augmentation in every process (libtorch's
/// CPU kernels may still differ in the last bits when the machine is busy, so weights can differ slightly).
/// docs/training.md records what this reaches and what else was tried.
/// </summary>
public sealed class NetworkTrainer(TrainingOptions options, ITrainingObserver? observer = null)
{
    public const string DefaultOptimizer = "adamw";
    const int RecalibrationImages = 320, RecalibrationBatch = 32;
    public static IReadOnlyList<string> Optimizers { get; } = ["adamw", "sgd"];
    const string ScheduleDescription = "linear warm-up over epochs 1-2 (at most a fifth of the run), then cosine decay to 0 (per step)";
    const string AugmentationDescription = "flips, 90-degree turns, brightness +-0.06, contrast x0.9-1.1, Gaussian blur sigma 0.3-0.6 (p 0.1)";

    public ModelManifest Train(CancellationToken cancellation = default)
    {
        Validate();
        ModelDirectory.EnsureWritableTarget(options.ModelDirectory);
        var folder = LabelledImageFolder.OpenForTraining(options.DataDirectory);
        if (folder.Classes.Count < 2)
            throw new DataFolderException($"{options.DataDirectory}: one class folder ({folder.Classes[0]}); a classifier needs at least two");
        var device = ComputeDevices.Resolve(options.Device);
        var backward = TrainingBackward.For(device, options.OneDnnBackward);

        var planes = InputBatches.LoadPlanes(folder.Images.Select(i => i.Path).ToList(), options.InputSize,
            new ImmediateProgress<int>(done => observer?.LoadingImages(done, folder.Images.Count)), cancellation);
        var labels = folder.Images.Select(i => i.Label).ToArray();
        var (train, validation) = StratifiedSplit.Split(labels, options.ValidationFraction, options.Seed);
        if (train.Length < 2 || validation.Length < 1)
            throw new DataFolderException($"{options.DataDirectory}: {folder.Images.Count} images are too few to split {1 - options.ValidationFraction:P0}/{options.ValidationFraction:P0}");

        torch.manual_seed(options.Seed);
        using var network = ParticleNetworks.Create(options.Architecture, folder.Classes.Count);
        if (options.InitialWeights is not null)
            ParticleNetworks.LoadBackbone(network, options.Architecture, options.InitialWeights);
        else if (network is ResNet50 resNet)
            resNet.ZeroInitialiseResiduals(); // from scratch: residual blocks start as the identity
        network.to(device);

        var normalization = ChannelNormalization.ImageNet;
        var (optimizerDescription, optimizer) = CreateOptimizer(options.Optimizer, network.parameters().ToList());
        using var disposeOptimizer = optimizer;
        int batchesPerEpoch = BatchesPerEpoch(train.Length);
        int totalSteps = batchesPerEpoch * options.Epochs;
        int warmupSteps = Math.Clamp(totalSteps / 5, 1, 2 * batchesPerEpoch); // two epochs of ten: ResNet50 needs them
        observer?.Started(backward.Route == BackwardRoute.OneDnn ? device.ToString() : $"{device} ({backward.Describe()})",
            train.Length, validation.Length, batchesPerEpoch);

        var history = new List<EpochRecord>();
        Dictionary<string, Tensor>? best = null;
        (double Accuracy, double Loss) bestScore = (-1, double.MaxValue);
        ValidationMetrics? bestMetrics = null;
        var shuffle = new Random(options.Seed);
        int step = 0;
        try
        {
            for (int epoch = 1; epoch <= options.Epochs; epoch++)
            {
                cancellation.ThrowIfCancellationRequested();
                using var nativeStep = NativeSteps.Begin($"training {options.Architecture} (epoch {epoch}/{options.Epochs}, {backward.Name})");
                var clock = Stopwatch.StartNew();
                var augmentation = new Random(Seeds.Derive(options.Seed, epoch));
                var order = train.OrderBy(_ => shuffle.Next()).ToArray();
                network.train();
                double lossSum = 0; int correct = 0, seen = 0;
                for (int b = 0; b < batchesPerEpoch; b++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    var batch = order.Skip(b * options.BatchSize).Take(options.BatchSize).ToArray();
                    using var scope = torch.NewDisposeScope();
                    var input = InputBatches.ToTensor(batch.Select(i => planes[i]).ToList(), options.InputSize, normalization, device,
                        image => ParticleAugmentation.Apply(image, options.InputSize, augmentation));
                    var target = torch.tensor(batch.Select(i => (long)labels[i]).ToArray()).to(device);
                    network.zero_grad();
                    var logits = network.forward(input);
                    var loss = functional.cross_entropy(logits, target);
                    using (backward.Enter()) loss.backward();
                    optimizer.Step(LearningRateAt(step++, warmupSteps, totalSteps));
                    float batchLoss = loss.item<float>();
                    if (!float.IsFinite(batchLoss))
                        throw new TrainingDivergedException($"training diverged at epoch {epoch}, batch {b + 1} (loss {batchLoss}); try a lower --lr; nothing was written");
                    lossSum += batchLoss * batch.Length;
                    correct += (int)logits.argmax(1).eq(target).sum().item<long>();
                    seen += batch.Length;
                    observer?.BatchDone(epoch, b + 1, lossSum / seen, (double)correct / seen, seen / clock.Elapsed.TotalSeconds);
                }

                RecalibrateBatchNorm(network, order, planes, options.InputSize, normalization, device);
                var (report, validationLoss) = Validate(network, validation, planes, labels, folder.Classes, options.InputSize, normalization, device);
                bool kept = report.Accuracy > bestScore.Accuracy || (report.Accuracy == bestScore.Accuracy && validationLoss < bestScore.Loss);
                if (kept)
                {
                    bestScore = (report.Accuracy, validationLoss);
                    DisposeAll(best);
                    best = Snapshot(network);
                    bestMetrics = ToMetrics(epoch, report, validationLoss);
                }
                var record = new EpochRecord(epoch, lossSum / seen, (double)correct / seen, validationLoss, report.Accuracy, clock.Elapsed.TotalSeconds);
                history.Add(record);
                observer?.EpochDone(record, kept);
            }

            using (torch.NewDisposeScope()) network.load_state_dict(best!);
            ConfidenceFitting.Fitted confidence;
            using (NativeSteps.Begin($"fitting the calibration and out-of-scope reference of {options.Architecture}"))
                confidence = ConfidenceFitting.Fit(network, options.Architecture, train, validation, planes, labels, folder.Classes.Count, options.InputSize, normalization, device);
            observer?.Calibrated(confidence.Calibration, confidence.OutOfScope);
            var data = new TrainingData(Path.GetFullPath(options.DataDirectory), folder.ContentHash(), folder.Images.Count,
                folder.Classes.Select((c, i) => (c, folder.CountOf(i))).ToDictionary(p => p.c, p => p.Item2), train.Length, validation.Length);
            var recipe = new TrainingRecipe(options.Epochs, options.LearningRate, options.BatchSize, options.ValidationFraction, options.Seed,
                device.ToString(), optimizerDescription, ScheduleDescription, AugmentationDescription,
                options.InitialWeights is null ? null : Path.GetFullPath(options.InitialWeights));
            ModelManifest? written = null;
            ModelDirectory.Save(options.ModelDirectory, network, sha => written = new ModelManifest(
                ModelManifest.CurrentFormat, options.Architecture, folder.Classes, options.InputSize,
                new NormalizationSpec(normalization.Mean, normalization.Std), ModelFolder.WeightsFileName, sha,
                data, recipe, bestMetrics!, history, DateTimeOffset.UtcNow, confidence.Calibration, confidence.OutOfScope), confidence.Reference);
            return written!;
        }
        finally
        {
            DisposeAll(best);
        }
    }

    static (string Description, IParticleOptimizer Optimizer) CreateOptimizer(string name, IReadOnlyList<Parameter> parameters) => name switch
    {
        "adamw" => ("AdamW, betas 0.9/0.99, eps 1e-8, decoupled weight decay 0.01, step scaled by min(1, sqrt(64 / fan-in)) per weight tensor",
            new AdamW(parameters, weightDecay: 0.01, beta2: 0.99, widthReference: 64)),
        "sgd" => ("SGD, Nesterov momentum 0.9, weight decay 1e-4", new NesterovSgd(parameters, momentum: 0.9, weightDecay: 1e-4)),
        _ => throw new ArgumentException($"--optimizer {name}: unknown; use one of {string.Join(", ", Optimizers)}"),
    };

    /// <summary>Batches per epoch; a last batch of one image is dropped, since BatchNorm cannot train on a single sample.</summary>
    int BatchesPerEpoch(int trainCount)
    {
        int full = trainCount / options.BatchSize, rest = trainCount % options.BatchSize;
        return full + (rest >= 2 ? 1 : 0);
    }

    double LearningRateAt(int step, int warmupSteps, int totalSteps)
    {
        if (step < warmupSteps) return options.LearningRate * (step + 1) / warmupSteps;
        double progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>
    /// "Precise BatchNorm": recomputes every BatchNorm's running statistics for the weights as they are now, as the
    /// plain average over up to <see cref="RecalibrationImages"/> training images (no augmentation, no gradients).
    /// During training the running averages trail weights that change fast, and a network evaluated with stale
    /// statistics scores far below what its weights can do (ResNet50's validation loss swung between 2 and 200).
    /// </summary>
    static void RecalibrateBatchNorm(Module<Tensor, Tensor> network, int[] shuffledTrain, float[][] planes, int inputSize,
        ChannelNormalization normalization, Device device)
    {
        var batchNorms = network.modules().OfType<SafeBatchNorm2d>().ToList();
        network.train();
        using var noGrad = torch.no_grad();
        int batch = 0;
        foreach (var chunk in shuffledTrain.Take(RecalibrationImages).Chunk(RecalibrationBatch))
        {
            if (chunk.Length < 2) break;
            foreach (var batchNorm in batchNorms) batchNorm.Momentum = 1.0 / (batch + 1); // running = mean of batch statistics so far
            using var scope = torch.NewDisposeScope();
            network.forward(InputBatches.ToTensor(chunk.Select(i => planes[i]).ToList(), inputSize, normalization, device));
            batch++;
        }
        foreach (var batchNorm in batchNorms) batchNorm.Momentum = SafeBatchNorm2d.DefaultMomentum;
    }

    static (ClassificationReport Report, double Loss) Validate(Module<Tensor, Tensor> network, int[] validation, float[][] planes,
        int[] labels, IReadOnlyList<string> classes, int inputSize, ChannelNormalization normalization, Device device)
    {
        network.eval();
        var probabilities = new List<IReadOnlyList<float>>(validation.Length);
        double lossSum = 0;
        using var noGrad = torch.no_grad();
        foreach (var chunk in validation.Chunk(32))
        {
            using var scope = torch.NewDisposeScope();
            var input = InputBatches.ToTensor(chunk.Select(i => planes[i]).ToList(), inputSize, normalization, device);
            var target = torch.tensor(chunk.Select(i => (long)labels[i]).ToArray()).to(device);
            var logits = network.forward(input);
            lossSum += functional.cross_entropy(logits, target).item<float>() * chunk.Length;
            probabilities.AddRange(NetworkRunner.Rows(functional.softmax(logits, 1)));
        }
        var report = ClassificationReport.From(classes, validation.Select(i => labels[i]).ToList(), probabilities);
        return (report, lossSum / validation.Length);
    }

    static ValidationMetrics ToMetrics(int epoch, ClassificationReport report, double loss) => new(
        epoch, report.Accuracy, loss,
        report.PerClass.Select(c => new ClassValidationMetrics(c.Class, c.Support, c.Precision, c.Recall, c.F1, c.Auc)).ToList(),
        Enumerable.Range(0, report.Confusion.Classes.Count)
            .Select(a => (IReadOnlyList<int>)Enumerable.Range(0, report.Confusion.Classes.Count).Select(p => report.Confusion[a, p]).ToList()).ToList());

    /// <summary>Copies of the network's weights and buffers, owned by the caller (the state_dict handles are released here).</summary>
    static Dictionary<string, Tensor> Snapshot(Module<Tensor, Tensor> network)
    {
        using var scope = torch.NewDisposeScope();
        return network.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone().DetachFromDisposeScope());
    }

    static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null) return;
        foreach (var t in tensors.Values) t.Dispose();
    }

    void Validate()
    {
        if (!ParticleNetworks.Architectures.Contains(options.Architecture))
            throw new ArgumentException($"--arch {options.Architecture}: unknown; use one of {string.Join(", ", ParticleNetworks.Architectures)}");
        if (!Optimizers.Contains(options.Optimizer))
            throw new ArgumentException($"--optimizer {options.Optimizer}: unknown; use one of {string.Join(", ", Optimizers)}");
        if (options.Epochs < 1) throw new ArgumentException("--epochs must be at least 1");
        if (options.BatchSize < 2) throw new ArgumentException("--batch must be at least 2 (BatchNorm needs two samples)");
        if (options.LearningRate <= 0 || double.IsNaN(options.LearningRate)) throw new ArgumentException("--lr must be positive");
        if (options.InputSize < 32 || options.InputSize > 1024) throw new ArgumentException("--input-size must be between 32 and 1024 pixels");
        if (options.ValidationFraction is <= 0 or >= 1) throw new ArgumentException("--val-fraction must be between 0 and 1");
        if (options.InitialWeights is not null && !File.Exists(options.InitialWeights))
            throw new ArgumentException($"{options.InitialWeights}: weights file not found");
    }
}
