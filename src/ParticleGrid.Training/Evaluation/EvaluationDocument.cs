using ParticleGrid.Domain;
using ParticleGrid.Domain.Confidence;
using ParticleGrid.ModelRepository;

namespace ParticleGrid.Training.Evaluation;

/// <summary>The JSON shape of an evaluation (what <c>evaluate --json</c> writes): plain numbers, no behaviour.</summary>
public sealed record EvaluationDocument(string Data, IReadOnlyList<string> Classes, int Images,
    IReadOnlyList<ReportDocument> Models, EnsembleDocument? Ensemble, string? Unknown, int UnknownImages)
{
    public static EvaluationDocument From(EvaluationResult result) => new(
        result.DataDirectory, result.Classes, result.ImageCount,
        result.Models.Select(m => ReportDocument.From(m.Name, m.Version, m.Architecture, m.Report) with
        {
            Calibration = CalibrationDocument.From(m.Calibration), OutOfScope = OutOfScopeDocument.From(m.OutOfScope),
        }).ToList(),
        result.Ensemble is { } e
            ? new EnsembleDocument(ReportDocument.From(ModelSets.EnsembleName, "soft-vote", ModelSets.EnsembleName, e.Report), e.Threshold, e.ConfidentShare,
                e.ConfidentAccuracy, e.Disagreements, e.Uncertain, CalibrationDocument.From(e.Calibration), OutOfScopeDocument.From(e.OutOfScope))
            : null,
        result.UnknownDirectory, result.UnknownImageCount);
}

/// <summary>Expected calibration error (15 bins) before and after the temperature, and the reliability bins.</summary>
public sealed record CalibrationDocument(double? Temperature, double EceBefore, double EceAfter,
    IReadOnlyList<ReliabilityBin> ReliabilityBefore, IReadOnlyList<ReliabilityBin> ReliabilityAfter)
{
    public static CalibrationDocument From(CalibrationScore score) => new(double.IsNaN(score.Temperature) ? null : score.Temperature,
        score.EceBefore, score.EceAfter, score.Before, score.After);
}

/// <summary>
/// The out-of-scope score (as a ratio to the threshold): the share of in-scope images kept, and with out-of-scope
/// images the AUROC and the share flagged, overall and per kind.
/// </summary>
public sealed record OutOfScopeDocument(double InScopeKeptShare, double? Auroc, double? FlaggedShare, int? OutOfScopeImages,
    IReadOnlyDictionary<string, OutOfScopeSeparation> PerKind)
{
    public static OutOfScopeDocument? From(OutOfScopeScore? score) => score is null ? null : new(score.InScopeKeptShare,
        score.Overall?.AreaUnderRoc, score.Overall?.FlaggedShare, score.Overall?.OutOfScope, score.PerKind);
}

public sealed record ClassDocument(string Class, int Support, double Precision, double Recall, double F1, double Auc);

public sealed record ReportDocument(string Name, string Version, string Architecture, double Accuracy,
    IReadOnlyList<ClassDocument> PerClass, IReadOnlyList<IReadOnlyList<int>> Confusion)
{
    public CalibrationDocument? Calibration { get; init; }
    public OutOfScopeDocument? OutOfScope { get; init; }

    public static ReportDocument From(string name, string version, string architecture, ClassificationReport report)
    {
        int n = report.Confusion.Classes.Count;
        return new ReportDocument(name, version, architecture, report.Accuracy,
            report.PerClass.Select(c => new ClassDocument(c.Class, c.Support, c.Precision, c.Recall, c.F1, c.Auc)).ToList(),
            Enumerable.Range(0, n).Select(a => (IReadOnlyList<int>)Enumerable.Range(0, n).Select(p => report.Confusion[a, p]).ToList()).ToList());
    }
}

public sealed record EnsembleDocument(ReportDocument Report, double Threshold, double ConfidentShare, double ConfidentAccuracy,
    int Disagreements, int Uncertain, CalibrationDocument Calibration, OutOfScopeDocument? OutOfScope);
