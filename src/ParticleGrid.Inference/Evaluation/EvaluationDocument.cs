using ParticleGrid.Domain;

namespace ParticleGrid.Inference.Evaluation;

/// <summary>The JSON shape of an evaluation (what <c>evaluate --json</c> writes): plain numbers, no behaviour.</summary>
public sealed record EvaluationDocument(string Data, IReadOnlyList<string> Classes, int Images,
    IReadOnlyList<ReportDocument> Models, EnsembleDocument? Ensemble)
{
    public static EvaluationDocument From(EvaluationResult result) => new(
        result.DataDirectory, result.Classes, result.ImageCount,
        result.Models.Select(m => ReportDocument.From(m.Name, m.Version, m.Architecture, m.Report)).ToList(),
        result.Ensemble is { } e
            ? new EnsembleDocument(ReportDocument.From(ModelEvaluator.EnsembleName, "soft-vote", ModelEvaluator.EnsembleName, e.Report), e.Threshold, e.ConfidentShare,
                e.ConfidentAccuracy, e.Disagreements, e.Uncertain)
            : null);
}

public sealed record ClassDocument(string Class, int Support, double Precision, double Recall, double F1, double Auc);

public sealed record ReportDocument(string Name, string Version, string Architecture, double Accuracy,
    IReadOnlyList<ClassDocument> PerClass, IReadOnlyList<IReadOnlyList<int>> Confusion)
{
    public static ReportDocument From(string name, string version, string architecture, ClassificationReport report)
    {
        int n = report.Confusion.Classes.Count;
        return new ReportDocument(name, version, architecture, report.Accuracy,
            report.PerClass.Select(c => new ClassDocument(c.Class, c.Support, c.Precision, c.Recall, c.F1, c.Auc)).ToList(),
            Enumerable.Range(0, n).Select(a => (IReadOnlyList<int>)Enumerable.Range(0, n).Select(p => report.Confusion[a, p]).ToList()).ToList());
    }
}

public sealed record EnsembleDocument(ReportDocument Report, double Threshold, double ConfidentShare, double ConfidentAccuracy,
    int Disagreements, int Uncertain);
