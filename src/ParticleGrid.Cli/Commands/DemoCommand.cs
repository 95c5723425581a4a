using System.CommandLine;
using ParticleGrid.Imaging;
using ParticleGrid.Inference;
using ParticleGrid.Inference.Evaluation;
using ParticleGrid.Inference.Models;
using ParticleGrid.Inference.Training;

namespace ParticleGrid.Cli.Commands;

/// <summary>
/// <c>particlegrid demo</c>: the whole path on synthetic data in one go: synthesise a training and a test set, train,
/// evaluate (tables, JSON, plots). What a newcomer runs first.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for the demo's data, models, figures and plots", DefaultValueFactory = _ => new DirectoryInfo("demo") };
        var all = new Option<bool>("--all-networks") { Description = "Train all three networks and evaluate their ensemble (about 10 minutes on 2 cores) instead of ShuffleNetV2 alone" };
        var perClass = new Option<int>("--per-class") { Description = "Training images per class", DefaultValueFactory = _ => 200 };
        var inputSize = new Option<int>("--input-size") { Description = "Network input side in pixels", DefaultValueFactory = _ => 64 };
        var device = ModelOptions.Device();

        var command = new Command("demo",
            "Runs the main job on SYNTHETIC data: synth (train and test sets) -> train -> evaluate, writing everything under --out.")
        {
            output, all, perClass, inputSize, device,
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            string root = parse.GetValue(output)!.FullName;
            string trainData = Path.Combine(root, "data", "train"), testData = Path.Combine(root, "data", "test");
            string[] architectures = parse.GetValue(all) ? ["shufflenet_v2", "resnet50", "densenet201"] : ["shufflenet_v2"];
            string runDevice = parse.GetValue(device)!;
            int size = parse.GetValue(inputSize);

            // The demo rewrites its own folders on every run; it never clears a folder it did not make.
            string marker = Path.Combine(root, ".particlegrid-demo");
            if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any() && !File.Exists(marker))
                throw new ArgumentException($"{root}: folder exists and was not made by 'particlegrid demo'; give --out a new folder");
            Directory.CreateDirectory(root);
            File.WriteAllText(marker, "Written by 'particlegrid demo': synthetic data, models and figures; the demo may rewrite this folder.\n");

            foreach (var (directory, count, seed) in new[] { (trainData, parse.GetValue(perClass), 7), (testData, Math.Max(10, parse.GetValue(perClass) / 4), 99) })
            {
                if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
                var summary = SyntheticParticles.WriteDataset(directory, count, seed, imageSize: 64);
                Console.WriteLine($"synthetic images: {summary.Counts.Values.Sum()} in {directory} (seed {seed})");
            }

            var models = new List<string>();
            foreach (var architecture in architectures)
            {
                string modelDirectory = Path.Combine(root, "models", architecture);
                if (Directory.Exists(modelDirectory)) Directory.Delete(modelDirectory, recursive: true);
                Console.WriteLine($"training {architecture} at {size} px ...");
                var options = new TrainingOptions(architecture, trainData, modelDirectory, InputSize: size, Device: runDevice);
                var manifest = await Task.Run(() => new ParticleClassifierTrainer(options, new EpochLinesObserver()).Train(cancellation), cancellation);
                Console.WriteLine($"  kept epoch {manifest.Validation.Epoch}: validation accuracy {manifest.Validation.Accuracy:F4} -> {modelDirectory}");
                models.Add(modelDirectory);
            }

            var loaded = ModelOptions.LoadAll(string.Join(',', models), ComputeDevices.Resolve(runDevice));
            try
            {
                var result = await Task.Run(() => ModelEvaluator.Evaluate(loaded, testData, cancellation: cancellation), cancellation);
                await EvaluateCommand.Report(result, Path.Combine(root, "evaluation.json"), Path.Combine(root, "plots"), cancellation);
            }
            finally
            {
                foreach (var model in loaded) model.Dispose();
            }
            return 0;
        }));
        return command;
    }

    /// <summary>One line per epoch: the demo's output reads as a log.</summary>
    sealed class EpochLinesObserver : ITrainingObserver
    {
        public void LoadingImages(int done, int total) { }
        public void Started(string device, int trainCount, int validationCount, int batchesPerEpoch) =>
            Console.WriteLine($"  on {device}: {trainCount} training images, {validationCount} for validation");
        public void BatchDone(int epoch, int batch, double runningLoss, double runningAccuracy, double imagesPerSecond) { }
        public void EpochDone(EpochRecord e, bool kept) => Console.WriteLine(
            $"  epoch {e.Epoch}: train loss {e.TrainLoss:F4} acc {e.TrainAccuracy:F4} | validation loss {e.ValidationLoss:F4} acc {e.ValidationAccuracy:F4} | {e.Seconds:F1} s{(kept ? " | kept" : "")}");
    }
}
