using System.CommandLine;
using ParticleGrid.Training;

namespace ParticleGrid.Cli.Commands;

/// <summary><c>particlegrid refit</c>: a trained model's calibration and "unknown" reference fitted again, weights kept.</summary>
public static class RefitCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "The trained model folder", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "The folder it was trained on (checked by its content hash)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "New folder for the refitted model (same weights, new manifest and reference)", Required = true };
        var command = new Command("refit",
            "Fits a trained model's temperature and out-of-scope reference again on the images and split it was trained with, " +
            "keeping its weights; writes a new model folder (a new version). Use it to give a model trained by an earlier " +
            "ParticleGrid the current out-of-scope method without training it again.")
        {
            model, data, output,
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            var manifest = await Task.Run(() => ConfidenceRefit.Refit(parse.GetValue(model)!.FullName, parse.GetValue(data)!.FullName,
                parse.GetValue(output)!.FullName, cancellation: cancellation), cancellation);
            Console.WriteLine($"model {manifest.Version} written to {parse.GetValue(output)!.FullName}");
            if (manifest.Calibration is { } calibration)
                Console.WriteLine($"calibration: temperature {calibration.Temperature:F3}; validation ECE {calibration.EceBefore:F4} -> {calibration.EceAfter:F4}");
            if (manifest.OutOfScope is { } unknown)
                Console.WriteLine($"out-of-scope: threshold {unknown.Threshold:G4} keeps {unknown.ValidationKeptShare:P1} of in-scope validation images " +
                                  $"(target {unknown.KeptShareTarget:P0}); {unknown.Method}");
            return 0;
        }));
        return command;
    }
}
