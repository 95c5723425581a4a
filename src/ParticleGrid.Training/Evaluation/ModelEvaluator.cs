using ParticleGrid.Domain;
using ParticleGrid.Domain.Confidence;
using ParticleGrid.Inference.Data;
using ParticleGrid.Training.Data;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Prediction;

namespace ParticleGrid.Training.Evaluation;

/// <summary>One model's scores on a labelled folder (its report on calibrated probabilities where it has a temperature).</summary>
public sealed record ModelScore(string Name, string Version, string Architecture, ClassificationReport Report,
    CalibrationScore Calibration, OutOfScopeScore? OutOfScope);

/// <summary>
/// Calibration on the evaluated images: expected calibration error (15 bins) with the raw softmax and with the model's
/// temperature, and the reliability bins behind each (the diagram).
/// </summary>
public sealed record CalibrationScore(double Temperature, double EceBefore, double EceAfter,
    IReadOnlyList<ReliabilityBin> Before, IReadOnlyList<ReliabilityBin> After);

/// <summary>
/// The out-of-scope score on the evaluated (in-scope) images and, given <c>--unknown DIR</c>, on out-of-scope ones: all
/// kinds together and each kind on its own (the method never saw any of them, so each kind is held out).
/// Scores are ratios to the threshold: 1 is the threshold.
/// </summary>
public sealed record OutOfScopeScore(double InScopeKeptShare, OutOfScopeSeparation? Overall, IReadOnlyDictionary<string, OutOfScopeSeparation> PerKind);

/// <summary>
/// The soft-vote ensemble's scores, and how many particles it labels confidently (winning probability at or above the
/// threshold, 0.90 as in the study) and how accurate those are.
/// </summary>
public sealed record EnsembleScore(ClassificationReport Report, double Threshold, double ConfidentShare, double ConfidentAccuracy,
    int Disagreements, int Uncertain, CalibrationScore Calibration, OutOfScopeScore? OutOfScope);

public sealed record EvaluationResult(string DataDirectory, IReadOnlyList<string> Classes, int ImageCount,
    IReadOnlyList<ModelScore> Models, EnsembleScore? Ensemble, string? UnknownDirectory = null, int UnknownImageCount = 0);

/// <summary>Scores models (and, with several, their soft-vote ensemble) on a folder of class folders.</summary>
public static class ModelEvaluator
{
    public static EvaluationResult Evaluate(IReadOnlyList<LoadedModel> models, string dataDirectory, double confidenceThreshold = 0.90,
        IProgress<int>? loading = null, CancellationToken cancellation = default, string? unknownDirectory = null)
    {
        if (models.Count == 0) throw new ArgumentException("give at least one model");
        var classes = models[0].Manifest.Classes;
        if (models.Count > 1)
        {
            var odd = models.FirstOrDefault(m => !m.Manifest.Classes.SequenceEqual(classes));
            if (odd is not null)
                throw new ModelDirectoryException($"{odd.Directory}: classes ({string.Join(", ", odd.Manifest.Classes)}) differ from " +
                                                  $"{models[0].Directory} ({string.Join(", ", classes)}); an ensemble needs the same classes in the same order");
        }

        var folder = LabelledImageFolder.Open(dataDirectory);
        var images = folder.LabelledFor(classes);
        var actual = images.Select(i => i.Label).ToList();
        var paths = images.Select(i => i.Path).ToList();

        // The out-of-scope images: one folder per kind (fibre, schlieren, ...); their kind names are not classes.
        var unknownFolder = unknownDirectory is null ? null : LabelledImageFolder.Open(unknownDirectory);
        var unknownPaths = unknownFolder?.Images.Select(i => i.Path).ToList() ?? [];
        var unknownKinds = unknownFolder?.Images.Select(i => unknownFolder.Classes[i.Label]).ToList() ?? [];

        // Decode once per input size the models need.
        var sizes = models.Select(m => m.Manifest.InputSize).Distinct().ToList();
        var planesBySize = sizes.ToDictionary(size => size, size => InputBatches.LoadPlanes(paths, size, loading, cancellation));
        var unknownPlanesBySize = sizes.ToDictionary(size => size, size => InputBatches.LoadPlanes(unknownPaths, size, null, cancellation));
        // Each image's appearance (for references that score it), described once per size, whichever models read it.
        var appearances = new Dictionary<(int Size, bool Unknown), float[][]>();
        float[][] AppearancesAt(int size, bool unknown) => appearances.TryGetValue((size, unknown), out var known) ? known
            : appearances[(size, unknown)] = [.. (unknown ? unknownPlanesBySize : planesBySize)[size].Select(p => ParticleAppearance.Describe(p, size))];

        var perModel = new List<IReadOnlyList<float[]>>();
        var rawPerModel = new List<IReadOnlyList<float[]>>();
        var ratiosPerModel = new List<(IReadOnlyList<double>? InScope, IReadOnlyList<double>? OutOfScope)>();
        var scores = new List<ModelScore>();
        var names = ModelSets.UniqueNames(models.Select(m => m.Name).ToList());
        foreach (var (model, name) in models.Zip(names))
        {
            var runner = new NetworkRunner(model.Network, model.Manifest.InputSize, model.Normalization, model.Device);
            var outputs = runner.Outputs(planesBySize[model.Manifest.InputSize]);
            double temperature = model.Manifest.Calibration?.Temperature ?? 1;
            var raw = outputs.Logits.Select(l => TemperatureScaling.Softmax(l)).ToList();
            var probabilities = outputs.Logits.Select(l => TemperatureScaling.Softmax(l, temperature)).ToList();
            perModel.Add(probabilities);
            rawPerModel.Add(raw);

            (IReadOnlyList<double>? InScope, IReadOnlyList<double>? OutOfScope) ratios = (null, null);
            if (model.OutOfScopeReference is { } reference && model.Manifest.OutOfScope is { } detection)
            {
                int size = model.Manifest.InputSize;
                var unknownFeatures = unknownPaths.Count == 0 ? [] : runner.Outputs(unknownPlanesBySize[size]).Features;
                float[] AppearanceOf(int image, bool unknown) => reference.Appearance is null ? [] : AppearancesAt(size, unknown)[image];
                ratios = ([.. outputs.Features.Select((f, i) => reference.Score(f, AppearanceOf(i, unknown: false)) / detection.Threshold)],
                          [.. unknownFeatures.Select((f, i) => reference.Score(f, AppearanceOf(i, unknown: true)) / detection.Threshold)]);
            }
            ratiosPerModel.Add(ratios);
            scores.Add(new ModelScore(name, model.Manifest.Version, model.Manifest.Architecture,
                ClassificationReport.From(classes, actual, probabilities.Cast<IReadOnlyList<float>>().ToList()),
                Calibrated(temperature, raw, probabilities, actual),
                ratios.InScope is null ? null : Separation(ratios.InScope, ratios.OutOfScope!, unknownKinds)));
        }

        EnsembleScore? ensemble = null;
        if (models.Count > 1)
        {
            // The ensemble's ratio per image: the mean of the networks' ratios (OutOfScopeVote.Combine).
            IReadOnlyList<double>? Combined(Func<(IReadOnlyList<double>? InScope, IReadOnlyList<double>? OutOfScope), IReadOnlyList<double>?> pick, int count) =>
                ratiosPerModel.Any(r => pick(r) is not null)
                    ? [.. Enumerable.Range(0, count).Select(i => OutOfScopeVote.Combine([.. ratiosPerModel.Select(r => pick(r) is { } list ? list[i] : (double?)null)])!.Value)]
                    : null;
            var inScope = Combined(r => r.InScope, actual.Count);
            var outOfScope = Combined(r => r.OutOfScope, unknownPaths.Count);
            ensemble = SoftVote(classes, actual, perModel, rawPerModel, confidenceThreshold,
                inScope is null ? null : Separation(inScope, outOfScope!, unknownKinds));
        }
        return new EvaluationResult(Path.GetFullPath(dataDirectory), classes, images.Count, scores, ensemble,
            unknownDirectory is null ? null : Path.GetFullPath(unknownDirectory), unknownPaths.Count);
    }

    static CalibrationScore Calibrated(double temperature, IReadOnlyList<float[]> raw, IReadOnlyList<float[]> calibrated, IReadOnlyList<int> actual)
    {
        var before = CalibrationError.Of([.. raw.Select(r => (IReadOnlyList<float>)r)], actual);
        var after = CalibrationError.Of([.. calibrated.Select(r => (IReadOnlyList<float>)r)], actual);
        return new CalibrationScore(temperature, before.Value, after.Value, before.Bins, after.Bins);
    }

    static OutOfScopeScore Separation(IReadOnlyList<double> inScope, IReadOnlyList<double> outOfScope, IReadOnlyList<string> kinds)
    {
        double kept = inScope.Count == 0 ? double.NaN : (double)inScope.Count(r => !OutOfScopeVote.IsUnknown(r)) / inScope.Count;
        if (outOfScope.Count == 0) return new OutOfScopeScore(kept, null, new Dictionary<string, OutOfScopeSeparation>());
        var perKind = kinds.Distinct().Order(StringComparer.Ordinal).ToDictionary(kind => kind, kind =>
            OutOfScopeSeparation.Of(inScope, [.. outOfScope.Where((_, i) => kinds[i] == kind)], 1));
        return new OutOfScopeScore(kept, OutOfScopeSeparation.Of(inScope, outOfScope, 1), perKind);
    }

    static EnsembleScore SoftVote(IReadOnlyList<string> classes, IReadOnlyList<int> actual, IReadOnlyList<IReadOnlyList<float[]>> perModel,
        IReadOnlyList<IReadOnlyList<float[]>> rawPerModel, double threshold, OutOfScopeScore? outOfScope)
    {
        var voter = new EnsembleVoter(VoteRule.Soft, threshold);
        List<EnsembleDecision> Decide(IReadOnlyList<IReadOnlyList<float[]>> rows) => [.. Enumerable.Range(0, actual.Count)
            .Select(i => voter.Decide(rows.Select(m => (IReadOnlyList<float>)m[i]).ToList()))];
        static List<float[]> Combined(List<EnsembleDecision> decisions) => [.. decisions.Select(d => d.Probabilities.Select(p => (float)p).ToArray())];
        var decisions = Decide(perModel);
        var combined = Combined(decisions);
        var confident = Enumerable.Range(0, actual.Count).Where(i => decisions[i].Probability >= threshold).ToList();
        return new EnsembleScore(
            ClassificationReport.From(classes, actual, [.. combined.Select(c => (IReadOnlyList<float>)c)]), threshold,
            actual.Count == 0 ? 0 : (double)confident.Count / actual.Count,
            confident.Count == 0 ? double.NaN : (double)confident.Count(i => decisions[i].ClassIndex == actual[i]) / confident.Count,
            decisions.Count(d => d.ModelVotes.Distinct().Count() > 1), // whatever reason the voter gave first
            decisions.Count(d => d.IsUncertain),
            Calibrated(double.NaN, Combined(Decide(rawPerModel)), combined, actual),
            outOfScope);
    }
}
