using System.CommandLine;
using ParticleGrid.Inference;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Training;
using ParticleGrid.Ingestion;

namespace ParticleGrid.Cli.Commands;

/// <summary><c>particlegrid train</c>: trains one network on a folder of class folders and writes a model folder.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "Folder with one sub-folder of images per class", Required = true };
        var arch = new Option<string>("--arch") { Description = "Network", Required = true };
        arch.AcceptOnlyFromAmong([.. ParticleNetworks.Architectures]);
        var output = new Option<DirectoryInfo>("--out") { Description = "New folder for the model (weights.pth + manifest.json)", Required = true };
        var weights = new Option<FileInfo?>("--weights") { Description = "Start from a torchvision ImageNet checkpoint (.pth); its 1000-way head is replaced. Without it: from scratch" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs (study: 10)", DefaultValueFactory = _ => 10 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (study: 0.00625)", DefaultValueFactory = _ => 0.00625 };
        var batch = new Option<int>("--batch") { Description = "Batch size (study: 16)", DefaultValueFactory = _ => 16 };
        var inputSize = new Option<int>("--input-size") { Description = "Network input side in pixels (study: 224)", DefaultValueFactory = _ => 224 };
        var valFraction = new Option<double>("--val-fraction") { Description = "Share of each class held out for validation (study: 0.3)", DefaultValueFactory = _ => 0.3 };
        var seed = new Option<int>("--seed") { Description = "Seed for the split, initialisation and augmentation", DefaultValueFactory = _ => 42 };
        var device = new Option<string>("--device") { Description = "Where to train", DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong([.. ComputeDevices.Choices]);
        var optimizer = new Option<string>("--optimizer") { Description = "adamw (default: reaches the study's accuracy from scratch in 10 epochs) or sgd (Nesterov momentum)", DefaultValueFactory = _ => NetworkTrainer.DefaultOptimizer };
        optimizer.AcceptOnlyFromAmong([.. NetworkTrainer.Optimizers]);

        var command = new Command("train",
            "Trains ResNet50, DenseNet201 or ShuffleNetV2 on DIR (one folder per class) with the reference study's defaults: " +
            "seeded stratified 70/30 split, particle augmentation, AdamW (or SGD) with a warm-up + cosine schedule; " +
            "keeps the best validation epoch. Writes weights.pth (loadable by PyTorch) and manifest.json.")
        {
            data, arch, output, weights, epochs, lr, batch, inputSize, valFraction, seed, device, optimizer,
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            var options = new TrainingOptions(parse.GetValue(arch)!, parse.GetValue(data)!.FullName, parse.GetValue(output)!.FullName,
                parse.GetValue(epochs), parse.GetValue(lr), parse.GetValue(batch), parse.GetValue(inputSize), parse.GetValue(valFraction),
                parse.GetValue(seed), parse.GetValue(device)!, parse.GetValue(weights)?.FullName, parse.GetValue(optimizer)!);
            var observer = new ConsoleTrainingObserver(options.Epochs);
            var manifest = await Task.Run(() => new NetworkTrainer(options, observer).Train(cancellation), cancellation);
            Console.WriteLine($"model {manifest.Version} written to {options.ModelDirectory}");
            Console.WriteLine($"kept epoch {manifest.Validation.Epoch}: validation accuracy {manifest.Validation.Accuracy:F4}, loss {manifest.Validation.Loss:F4}");
            foreach (var c in manifest.Validation.PerClass)
                Console.WriteLine($"  {c.Class,-14} precision {c.Precision:F4}  recall {c.Recall:F4}  F1 {c.F1:F4}  AUC {c.Auc:F4}  (n={c.Support})");
            if (manifest.Calibration is { } calibration)
                Console.WriteLine($"calibration: temperature {calibration.Temperature:F3}; validation ECE {calibration.EceBefore:F4} -> {calibration.EceAfter:F4}, " +
                                  $"NLL {calibration.NllBefore:F4} -> {calibration.NllAfter:F4}");
            if (manifest.OutOfScope is { } unknown)
                Console.WriteLine($"out-of-scope: threshold {unknown.Threshold:G4} keeps {unknown.ValidationKeptShare:P1} of in-scope validation images " +
                                  $"(target {unknown.KeptShareTarget:P0}); {unknown.StageWidths?.Count ?? 1} network stages, {unknown.FeatureDimensions} features");
            return 0;
        }));
        return command;
    }

    sealed class ConsoleTrainingObserver(int epochs) : ITrainingObserver
    {
        readonly Lock gate = new(); // images load in parallel: reports come from several threads
        ConsoleProgressBar? loading, epochBar;
        int batches;

        public void LoadingImages(int done, int total)
        {
            lock (gate) loading ??= new ConsoleProgressBar("loading images", total);
            loading.Report(done);
        }

        public void Started(string device, int trainCount, int validationCount, int batchesPerEpoch)
        {
            batches = batchesPerEpoch;
            Console.Error.WriteLine($"training on {device}: {trainCount} images, {validationCount} held out for validation, {batchesPerEpoch} batches per epoch");
        }

        public void BatchDone(int epoch, int batch, double runningLoss, double runningAccuracy, double imagesPerSecond)
        {
            if (batch == 1) epochBar = new ConsoleProgressBar($"epoch {epoch}/{epochs}", batches);
            epochBar!.Report(batch, $"loss {runningLoss:F4} acc {runningAccuracy:F4} {imagesPerSecond:F1} img/s");
        }

        public void EpochDone(EpochRecord e, bool kept) => (epochBar ?? new ConsoleProgressBar("", 0)).Finish(
            $"epoch {e.Epoch}/{epochs}: train loss {e.TrainLoss:F4} acc {e.TrainAccuracy:F4} | validation loss {e.ValidationLoss:F4} " +
            $"acc {e.ValidationAccuracy:F4} | {e.Seconds:F1} s{(kept ? " | kept" : "")}");
    }
}
