using ParticleGrid.Domain;
using ParticleGrid.Inference.Data;
using ParticleGrid.Inference.Models;
using ParticleGrid.Inference.Prediction;

namespace ParticleGrid.Inference.Evaluation;

/// <summary>One model's scores on a labelled folder.</summary>
public sealed record ModelScore(string Name, string Version, string Architecture, ClassificationReport Report);

/// <summary>
/// The soft-vote ensemble's scores, and how many particles it labels confidently (winning probability at or above the
/// threshold, 0.90 as in the study) and how accurate those are.
/// </summary>
public sealed record EnsembleScore(ClassificationReport Report, double Threshold, double ConfidentShare, double ConfidentAccuracy,
    int Disagreements, int Uncertain);

public sealed record EvaluationResult(string DataDirectory, IReadOnlyList<string> Classes, int ImageCount,
    IReadOnlyList<ModelScore> Models, EnsembleScore? Ensemble);

/// <summary>Scores models (and, with several, their soft-vote ensemble) on a folder of class folders.</summary>
public static class ModelEvaluator
{
    public static EvaluationResult Evaluate(IReadOnlyList<LoadedModel> models, string dataDirectory, double confidenceThreshold = 0.90,
        IProgress<int>? loading = null, CancellationToken cancellation = default)
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

        // Decode once per input size the models need.
        var planesBySize = models.Select(m => m.Manifest.InputSize).Distinct()
            .ToDictionary(size => size, size => InputBatches.LoadPlanes(paths, size, loading, cancellation));

        var perModel = new List<IReadOnlyList<float[]>>();
        var scores = new List<ModelScore>();
        var names = UniqueNames(models.Select(m => m.Name).ToList());
        foreach (var (model, name) in models.Zip(names))
        {
            var classifier = new ParticleClassifier(model.Network, model.Manifest.InputSize, model.Normalization, model.Device);
            var probabilities = classifier.Probabilities(planesBySize[model.Manifest.InputSize]);
            perModel.Add(probabilities);
            scores.Add(new ModelScore(name, model.Manifest.Version, model.Manifest.Architecture,
                ClassificationReport.From(classes, actual, probabilities.Cast<IReadOnlyList<float>>().ToList())));
        }

        EnsembleScore? ensemble = models.Count > 1 ? SoftVote(classes, actual, perModel, confidenceThreshold) : null;
        return new EvaluationResult(Path.GetFullPath(dataDirectory), classes, images.Count, scores, ensemble);
    }

    public const string EnsembleName = "ensemble";

    /// <summary>
    /// Names for reports, plots and JSON keys: each model's folder name, made unique (<c>model</c>, <c>model#2</c>) and
    /// kept apart from <see cref="EnsembleName"/>, since two runs' folders are often both called "model".
    /// </summary>
    public static IReadOnlyList<string> UniqueNames(IReadOnlyList<string> names)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal) { EnsembleName };
        return names.Select(name =>
        {
            string unique = name;
            for (int n = 2; !taken.Add(unique); n++) unique = $"{name}#{n}";
            return unique;
        }).ToList();
    }

    static EnsembleScore SoftVote(IReadOnlyList<string> classes, IReadOnlyList<int> actual, IReadOnlyList<IReadOnlyList<float[]>> perModel, double threshold)
    {
        var voter = new EnsembleVoter(VoteRule.Soft, threshold);
        var decisions = Enumerable.Range(0, actual.Count)
            .Select(i => voter.Decide(perModel.Select(m => (IReadOnlyList<float>)m[i]).ToList()))
            .ToList();
        var combined = decisions.Select(d => (IReadOnlyList<float>)d.Probabilities.Select(p => (float)p).ToList()).ToList();
        var confident = Enumerable.Range(0, actual.Count).Where(i => decisions[i].Probability >= threshold).ToList();
        return new EnsembleScore(
            ClassificationReport.From(classes, actual, combined), threshold,
            actual.Count == 0 ? 0 : (double)confident.Count / actual.Count,
            confident.Count == 0 ? double.NaN : (double)confident.Count(i => decisions[i].ClassIndex == actual[i]) / confident.Count,
            decisions.Count(d => d.ModelVotes.Distinct().Count() > 1), // whatever reason the voter gave first
            decisions.Count(d => d.IsUncertain));
    }
}
