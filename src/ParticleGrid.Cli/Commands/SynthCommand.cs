using System.CommandLine;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Training;
using ParticleGrid.Ingestion;

namespace ParticleGrid.Cli.Commands;

/// <summary>
/// <c>particlegrid synth</c>: writes a folder of synthetic FIM-like particle images, one sub-folder per class; or, with
/// <c>--out-of-scope</c>, a separate test set of what the four classes do not cover; either in another instrument's look.
/// </summary>
public static class SynthCommand
{
    static readonly string[] Artefacts = [.. Enum.GetValues<ImagingArtefact>().Select(SyntheticParticles.ArtefactName)];

    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write DIR/<class>/*.png into", Required = true };
        var perClass = new Option<int>("--per-class") { Description = "Images per class (with --out-of-scope: per kind)", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Random seed; the same seed writes the same images", DefaultValueFactory = _ => 1 };
        var size = new Option<int>("--size") { Description = "Side of each square image, in pixels", DefaultValueFactory = _ => 64 };
        var scale = new Option<double>("--um-per-pixel")
        {
            Description = "Calibration: micrometres per pixel (particles span 2-100 um); default 1, or the look's pixel size",
        };
        var outOfScope = new Option<bool>("--out-of-scope")
        {
            Description = "Write OUT-OF-SCOPE kinds instead of the four types: DIR/{fibre,schlieren,debris,agglomerate}/*.png, " +
                          "for testing the 'unknown' answer. Never trained on: DIR must not hold the four class folders, and train refuses these folders",
        };
        var look = new Option<string>("--look")
        {
            Description = "Instrument look, for SHIFTED test sets (the four types stay in scope, in their class folders):" +
                          Environment.NewLine + InstrumentLook.Describe(),
            DefaultValueFactory = _ => InstrumentLook.Default.Name,
            HelpName = "name",
        };
        look.AcceptOnlyFromAmong([.. InstrumentLook.Presets.Select(p => p.Name)]);
        var artefact = new Option<string>("--artefact")
        {
            Description = "An imaging artefact on every in-scope particle, which stays in scope: cut-by-frame (the frame edge cuts off " +
                          "a quarter to a half of it), out-of-focus (blurred 1.4-2.6 px, with a halo)",
            DefaultValueFactory = _ => "none",
            HelpName = "none|cut-by-frame|out-of-focus",
        };
        artefact.AcceptOnlyFromAmong(Artefacts);
        // Gone: it wrote fibres beside the four class folders, where a training run would take them as a fifth class.
        var unknown = new Option<bool>("--include-unknown") { Hidden = true };
        unknown.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<bool>())
                r.AddError("--include-unknown is gone: it put fibres beside the four classes, where training would take them in. " +
                           "Write out-of-scope images to a folder of their own: synth --out-of-scope --out OTHER_DIR");
        });
        perClass.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--per-class must be at least 1"); });
        size.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 16 or > 1024) r.AddError("--size must be between 16 and 1024 pixels"); });
        scale.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (> 0 and <= 100)) r.AddError("--um-per-pixel must be above 0 and at most 100"); });

        var command = new Command("synth",
            "Writes SYNTHETIC flow-imaging particle images (not real instrument data) for tests and demos: bubble, silicone_oil, " +
            "glass and protein, drawn as each type looks in FIM, grey PNGs with sizes spread over 2-100 um. With --out-of-scope, " +
            "fibre, schlieren, debris and agglomerate instead, in a folder of their own. --look and --artefact make shifted test sets. " +
            "Deterministic for a seed. A synthetic.csv lists every image with its class and size.")
        {
            output, perClass, seed, size, scale, outOfScope, look, artefact, unknown,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(outOfScope) && r.GetValue(artefact) is { } a && a != "none")
                r.AddError("--artefact applies to the four types; out-of-scope kinds are drawn as they come");
        });
        command.SetAction((parse, cancellation) => CommandErrors.Guard(() =>
        {
            var directory = parse.GetValue(output)!.FullName;
            InstrumentLook.TryGet(parse.GetValue(look)!, out InstrumentLook chosen);
            double? micrometresPerPixel = parse.GetResult(scale) is { Implicit: false } ? parse.GetValue(scale) : null;
            int each = parse.GetValue(perClass);
            string lookNote = chosen.IsDefault ? "" : $", look {chosen.Name}";
            if (parse.GetValue(outOfScope))
            {
                var bar = new ConsoleProgressBar("synth", each * OutOfScopeKinds.All.Count);
                var set = SyntheticParticles.WriteOutOfScopeSet(directory, each, parse.GetValue(seed), parse.GetValue(size),
                    micrometresPerPixel, chosen, new ImmediateProgress<int>(done => bar.Report(done)));
                bar.Finish($"wrote {set.Counts.Values.Sum()} synthetic OUT-OF-SCOPE images to {set.Directory} " +
                           $"({string.Join(", ", set.Counts.Select(c => $"{OutOfScopeKinds.FolderName(c.Key)} {c.Value}"))}; " +
                           $"seed {set.Seed}, {set.ImageSize} px, {set.MicrometresPerPixel} um/px{lookNote}); for testing 'unknown' only, never for training");
                return Task.FromResult(0);
            }

            ImagingArtefact spoilt = Enum.GetValues<ImagingArtefact>().Single(a => SyntheticParticles.ArtefactName(a) == parse.GetValue(artefact));
            var progress = new ConsoleProgressBar("synth", each * ParticleTypes.StudyTypes.Count);
            var summary = SyntheticParticles.WriteDataset(directory, each, parse.GetValue(seed), parse.GetValue(size),
                micrometresPerPixel, chosen, spoilt, new ImmediateProgress<int>(done => progress.Report(done)));
            string artefactNote = spoilt == ImagingArtefact.None ? "" : $", artefact {SyntheticParticles.ArtefactName(spoilt)}";
            progress.Finish($"wrote {summary.Counts.Values.Sum()} synthetic images to {summary.Directory} " +
                            $"({string.Join(", ", summary.Counts.Select(c => $"{ParticleTypes.FolderName(c.Key)} {c.Value}"))}; " +
                            $"seed {summary.Seed}, {summary.ImageSize} px, {summary.MicrometresPerPixel} um/px{lookNote}{artefactNote})");
            return Task.FromResult(0);
        }));
        return command;
    }
}
