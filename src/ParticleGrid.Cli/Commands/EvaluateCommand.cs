using ParticleGrid.Inference.Native;
using System.CommandLine;
using System.Text.Json;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Inference;
using ParticleGrid.Inference.Evaluation;
using ParticleGrid.Inference.Models;
using ParticleGrid.Inference.Training;

namespace ParticleGrid.Cli.Commands;

/// <summary><c>particlegrid evaluate</c>: scores models, and their ensemble, on a labelled folder as the study reports them.</summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var models = ModelOptions.ModelDirectories();
        models.Required = true;
        var data = new Option<DirectoryInfo>("--data") { Description = "Folder with one sub-folder of images per class", Required = true };
        var json = new Option<FileInfo?>("--json") { Description = "Also write every figure to this JSON file" };
        var plots = new Option<DirectoryInfo?>("--plots") { Description = "Draw confusion matrices and ROC curves as PNG into this folder" };
        var device = ModelOptions.Device();

        var command = new Command("evaluate",
            "Scores each model on DIR: accuracy; per class precision, recall, F1 and one-vs-rest ROC AUC (the study's Table 5); the " +
            "confusion matrix. With several models also their soft-vote ensemble and the share of particles above the 0.90 confidence threshold.")
        {
            models, data, json, plots, device,
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            var loaded = ModelOptions.LoadAll(parse.GetValue(models)!, ComputeDevices.Resolve(parse.GetValue(device)!));
            try
            {
                var dataDirectory = parse.GetValue(data)!.FullName;
                var bar = new ConsoleProgressBar("loading images", CountImages(dataDirectory));
                var result = await Task.Run(() =>
                {
                    using var step = NativeSteps.Begin($"evaluating {string.Join(", ", loaded.Select(m => m.Name))} on {dataDirectory}");
                    return ModelEvaluator.Evaluate(loaded, dataDirectory, 0.90, new ImmediateProgress<int>(done => bar.Report(done)), cancellation);
                }, cancellation);
                await Report(result, parse.GetValue(json)?.FullName, parse.GetValue(plots)?.FullName, cancellation);
                return 0;
            }
            finally
            {
                foreach (var model in loaded) model.Dispose();
            }
        }));
        return command;
    }

    /// <summary>Prints the tables; writes the figures as JSON and draws the plots where asked. Shared with <c>demo</c>.</summary>
    public static async Task Report(EvaluationResult result, string? jsonPath, string? plotDirectory, CancellationToken cancellation)
    {
        Print(result);
        if (jsonPath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
            await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(EvaluationDocument.From(result), ModelManifest.Json), cancellation);
            Console.WriteLine($"figures written to {jsonPath}");
        }
        if (plotDirectory is not null)
        {
            Directory.CreateDirectory(plotDirectory);
            foreach (var (name, report) in Reports(result))
            {
                ConfusionMatrixChart.Save(report.Confusion, $"{name}: confusion matrix", Path.Combine(plotDirectory, $"confusion_{name}.png"));
                RocChart.Save(report.Roc.Select(r => (r.Key, r.Value)).ToList(), $"{name}: ROC one-vs-rest", Path.Combine(plotDirectory, $"roc_{name}.png"));
            }
            Console.WriteLine($"plots written to {plotDirectory}");
        }
    }

    static IEnumerable<(string Name, ClassificationReport Report)> Reports(EvaluationResult result)
    {
        foreach (var model in result.Models) yield return (model.Name, model.Report);
        if (result.Ensemble is not null) yield return (ModelEvaluator.EnsembleName, result.Ensemble.Report);
    }

    static void Print(EvaluationResult result)
    {
        Console.WriteLine($"{result.ImageCount} images in {result.DataDirectory}; classes: {string.Join(", ", result.Classes)}");
        foreach (var (name, report) in Reports(result))
        {
            Console.WriteLine();
            Console.WriteLine(report.FormatTable(name));
            Console.WriteLine(report.FormatConfusion());
        }
        if (result.Ensemble is { } e)
            Console.WriteLine($"ensemble (soft vote): {e.ConfidentShare:P1} of particles at or above {e.Threshold:F2} confidence, " +
                              $"{(double.IsNaN(e.ConfidentAccuracy) ? "none" : e.ConfidentAccuracy.ToString("P1"))} of those correct; " +
                              $"{e.Disagreements} where the networks disagree; {e.Uncertain} uncertain in all");
    }

    static int CountImages(string directory) => Directory.Exists(directory)
        ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Count(f => Inference.Data.LabelledImageFolder.ImageExtensions.Contains(Path.GetExtension(f)))
        : 0;
}
