using ParticleGrid.Inference.Native;
using ParticleGrid.Training.Native;
using System.CommandLine;
using System.Text.Json;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Inference;
using ParticleGrid.Training.Evaluation;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Training;
using ParticleGrid.Ingestion;

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
        var unknown = new Option<DirectoryInfo?>("--unknown")
        {
            Description = "Folder of OUT-OF-SCOPE images, one sub-folder per kind (e.g. synth --out-of-scope): reports how well the " +
                          "out-of-scope score separates them from DIR's images (AUROC, share flagged, share of in-scope kept), overall and per kind",
        };

        var command = new Command("evaluate",
            "Scores each model on DIR: accuracy; per class precision, recall, F1 and one-vs-rest ROC AUC (the study's Table 5); the " +
            "confusion matrix; calibration (expected calibration error, 15 bins, before and after each model's temperature); the share of " +
            "in-scope images the out-of-scope score keeps. With several models also their soft-vote ensemble and the share of particles " +
            "above the 0.90 confidence threshold.")
        {
            models, data, json, plots, device, unknown,
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
                    return ModelEvaluator.Evaluate(loaded, dataDirectory, 0.90, new ImmediateProgress<int>(done => bar.Report(done)), cancellation,
                        parse.GetValue(unknown)?.FullName);
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
            foreach (var (name, calibration) in Calibrations(result))
            {
                static IReadOnlyList<(double, double)> Points(IReadOnlyList<Domain.Confidence.ReliabilityBin> bins) =>
                    [.. bins.Where(b => b.Count > 0).Select(b => (b.MeanConfidence, b.Accuracy))];
                RocChart.SaveLines([
                        (string.Create(System.Globalization.CultureInfo.InvariantCulture, $"raw softmax ECE {calibration.EceBefore:0.000}"), Points(calibration.Before)),
                        (string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(double.IsNaN(calibration.Temperature) ? "calibrated" : $"T {calibration.Temperature:0.00}")} ECE {calibration.EceAfter:0.000}"), Points(calibration.After)),
                    ], $"{name}: reliability (15 bins)", "confidence", "accuracy", Path.Combine(plotDirectory, $"reliability_{name}.png"), markPoints: true);
            }
            Console.WriteLine($"plots written to {plotDirectory}");
        }
    }

    static IEnumerable<(string Name, ClassificationReport Report)> Reports(EvaluationResult result)
    {
        foreach (var model in result.Models) yield return (model.Name, model.Report);
        if (result.Ensemble is not null) yield return (ModelSets.EnsembleName, result.Ensemble.Report);
    }

    static IEnumerable<(string Name, CalibrationScore Calibration)> Calibrations(EvaluationResult result)
    {
        foreach (var model in result.Models) yield return (model.Name, model.Calibration);
        if (result.Ensemble is not null) yield return (ModelSets.EnsembleName, result.Ensemble.Calibration);
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
        Console.WriteLine();
        Console.WriteLine("calibration (expected calibration error, 15 bins; temperature fitted on each model's validation split):");
        foreach (var (name, c) in Calibrations(result))
            Console.WriteLine($"  {name,-16} ECE {c.EceBefore:F4} -> {c.EceAfter:F4}{(double.IsNaN(c.Temperature) ? "" : $"  (T {c.Temperature:F3})")}");
        var outOfScope = result.Models.Select(m => (m.Name, m.OutOfScope))
            .Concat(result.Ensemble is { } ens ? [(ModelSets.EnsembleName, ens.OutOfScope)] : []).ToList();
        if (outOfScope.All(o => o.OutOfScope is null))
        {
            Console.WriteLine("out-of-scope: these models carry no out-of-scope reference (trained before calibration); retrain to get 'unknown'");
            return;
        }
        Console.WriteLine(result.UnknownDirectory is null
            ? "out-of-scope score (threshold set on each model's validation split): in-scope images kept"
            : $"out-of-scope score against {result.UnknownImageCount} out-of-scope images in {result.UnknownDirectory}:");
        foreach (var (name, o) in outOfScope)
        {
            if (o is null) { Console.WriteLine($"  {name,-16} no reference"); continue; }
            Console.WriteLine($"  {name,-16} in-scope kept {o.InScopeKeptShare:P1}" + (o.Overall is { } all
                ? $"   AUROC {all.AreaUnderRoc:F3}, flagged {all.FlaggedShare:P1}" +
                  string.Concat(o.PerKind.Select(k => $" | {k.Key}: AUROC {k.Value.AreaUnderRoc:F3}, flagged {k.Value.FlaggedShare:P1}"))
                : ""));
        }
    }

    static int CountImages(string directory) => Directory.Exists(directory)
        ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Count(f => Training.Data.LabelledImageFolder.ImageExtensions.Contains(Path.GetExtension(f)))
        : 0;
}
