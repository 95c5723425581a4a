using System.CommandLine;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Training;

namespace ParticleGrid.Cli.Commands;

/// <summary><c>particlegrid synth</c>: writes a folder of synthetic FIM-like particle images, one sub-folder per class.</summary>
public static class SynthCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write DIR/<class>/*.png into", Required = true };
        var perClass = new Option<int>("--per-class") { Description = "Images per class", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Random seed; the same seed writes the same images", DefaultValueFactory = _ => 1 };
        var size = new Option<int>("--size") { Description = "Side of each square image, in pixels", DefaultValueFactory = _ => 64 };
        var scale = new Option<double>("--um-per-pixel") { Description = "Calibration: micrometres per pixel (particles span 2-100 um)", DefaultValueFactory = _ => 1.0 };
        var unknown = new Option<bool>("--include-unknown") { Description = "Also write fibres, a type outside the study's four" };
        perClass.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--per-class must be at least 1"); });
        size.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 16 or > 1024) r.AddError("--size must be between 16 and 1024 pixels"); });
        scale.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (> 0 and <= 100)) r.AddError("--um-per-pixel must be above 0 and at most 100"); });

        var command = new Command("synth",
            "Writes SYNTHETIC flow-imaging particle images (not real instrument data) for tests and demos: bubble, silicone_oil, " +
            "glass and protein (and fibre with --include-unknown), drawn as each type looks in FIM, grey PNGs with sizes spread " +
            "over 2-100 um. Deterministic for a seed. A synthetic.csv lists every image with its class and size.")
        {
            output, perClass, seed, size, scale, unknown,
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(() =>
        {
            var directory = parse.GetValue(output)!.FullName;
            bool includeUnknown = parse.GetValue(unknown);
            int count = parse.GetValue(perClass) * SyntheticParticles.ClassesFor(includeUnknown).Count;
            var bar = new ConsoleProgressBar("synth", count);
            var summary = SyntheticParticles.WriteDataset(directory, parse.GetValue(perClass), parse.GetValue(seed), parse.GetValue(size),
                parse.GetValue(scale), includeUnknown, new ImmediateProgress<int>(done => bar.Report(done)));
            bar.Finish($"wrote {summary.Counts.Values.Sum()} synthetic images to {summary.Directory} " +
                       $"({string.Join(", ", summary.Counts.Select(c => $"{ParticleTypes.FolderName(c.Key)} {c.Value}"))}; " +
                       $"seed {summary.Seed}, {summary.ImageSize} px, {summary.MicrometresPerPixel} um/px)");
            return Task.FromResult(0);
        }));
        return command;
    }
}
