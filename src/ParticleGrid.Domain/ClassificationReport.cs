using System.Globalization;
using System.Text;

namespace ParticleGrid.Domain;

/// <summary>One row of the per-class table: the study's Table 5 columns plus the class's support.</summary>
/// <param name="Class">The class name.</param>
/// <param name="Support">How many items truly belong to the class.</param>
/// <param name="Auc">One-vs-rest ROC AUC; NaN when the class has no items or is the only class present.</param>
public sealed record ClassMetrics(string Class, int Support, double Precision, double Recall, double F1, double Auc);

/// <summary>
/// How a classifier did on a labelled set: confusion matrix, per-class precision / recall / F1 / AUC and accuracy,
/// as the reference study reports them. The predicted class of an item is the argmax of its probabilities
/// (the lowest index wins a tie).
/// </summary>
public sealed class ClassificationReport
{
    private ClassificationReport(ConfusionMatrix confusion, IReadOnlyList<ClassMetrics> perClass, IReadOnlyDictionary<string, RocCurve> roc)
    {
        Confusion = confusion;
        PerClass = perClass;
        Roc = roc;
    }

    public ConfusionMatrix Confusion { get; }

    /// <summary>One entry per class, in class order.</summary>
    public IReadOnlyList<ClassMetrics> PerClass { get; }

    /// <summary>The share of items whose argmax is their true class.</summary>
    public double Accuracy => Confusion.Accuracy;

    /// <summary>The one-vs-rest ROC curve of each class, keyed by class name.</summary>
    public IReadOnlyDictionary<string, RocCurve> Roc { get; }

    /// <summary>Builds the report from each item's true class index and predicted class probabilities.</summary>
    public static ClassificationReport From(IReadOnlyList<string> classes, IReadOnlyList<int> actual, IReadOnlyList<IReadOnlyList<float>> probabilities)
    {
        ArgumentNullException.ThrowIfNull(classes);
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(probabilities);
        if (actual.Count != probabilities.Count)
        {
            throw new ArgumentException(
                $"There are {actual.Count} labels but {probabilities.Count} probability rows; they must match.", nameof(probabilities));
        }
        if (classes.Distinct().Count() != classes.Count)
        {
            throw new ArgumentException("Class names must be distinct.", nameof(classes));
        }

        var confusion = new ConfusionMatrix(classes);
        for (int i = 0; i < actual.Count; i++)
        {
            IReadOnlyList<float> row = probabilities[i]
                ?? throw new ArgumentException($"Probability row {i} is null.", nameof(probabilities));
            if (row.Count != classes.Count)
            {
                throw new ArgumentException(
                    $"Probability row {i} has {row.Count} entries but there are {classes.Count} classes.", nameof(probabilities));
            }
            if ((uint)actual[i] >= (uint)classes.Count)
            {
                throw new ArgumentException($"Label {i} is {actual[i]}, not a class index 0..{classes.Count - 1}.", nameof(actual));
            }
            confusion.Add(actual[i], ArgMax(row));
        }

        var roc = new Dictionary<string, RocCurve>();
        var perClass = new List<ClassMetrics>();
        for (int c = 0; c < classes.Count; c++)
        {
            RocCurve curve = RocCurve.OneVsRest(actual, probabilities, c);
            roc[classes[c]] = curve;
            perClass.Add(new ClassMetrics(classes[c], confusion.Support(c), confusion.Precision(c), confusion.Recall(c), confusion.F1(c), curve.Auc));
        }
        return new ClassificationReport(confusion, perClass, roc);
    }

    /// <summary>The index of the largest probability (the first one on a tie).</summary>
    public static int ArgMax(IReadOnlyList<float> probabilities)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.Count == 0) throw new ArgumentException("No probabilities.", nameof(probabilities));
        int best = 0;
        for (int c = 1; c < probabilities.Count; c++)
        {
            if (probabilities[c] > probabilities[best]) best = c;
        }
        return best;
    }

    /// <summary>
    /// A Markdown table in the layout of the study's Table 5 (model | class | precision | recall | F1 | AUC, four
    /// decimals), with each class's support, followed by the accuracy line. An undefined AUC prints as "n/a".
    /// </summary>
    public string FormatTable(string modelName)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        var text = new StringBuilder();
        text.AppendLine("| model | class | precision | recall | F1 | AUC | support |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (ClassMetrics row in PerClass)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {modelName} | {row.Class} | {row.Precision:0.0000} | {row.Recall:0.0000} | {row.F1:0.0000} | {FormatAuc(row.Auc)} | {row.Support} |"));
        }
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"accuracy {Accuracy:0.0000} ({Confusion.Total} images)"));
        return text.ToString();
    }

    /// <summary>The confusion matrix as a text grid: one row per actual class, one column per predicted class.</summary>
    public string FormatConfusion()
    {
        IReadOnlyList<string> classes = Confusion.Classes;
        const string Corner = "actual \\ predicted";
        int firstWidth = Math.Max(Corner.Length, classes.Max(c => c.Length));
        int[] widths = new int[classes.Count];
        for (int p = 0; p < classes.Count; p++)
        {
            widths[p] = classes[p].Length;
            for (int a = 0; a < classes.Count; a++)
            {
                widths[p] = Math.Max(widths[p], Confusion[a, p].ToString(CultureInfo.InvariantCulture).Length);
            }
        }

        var text = new StringBuilder();
        text.Append(Corner.PadRight(firstWidth));
        for (int p = 0; p < classes.Count; p++) text.Append("  ").Append(classes[p].PadLeft(widths[p]));
        text.AppendLine();
        for (int a = 0; a < classes.Count; a++)
        {
            text.Append(classes[a].PadRight(firstWidth));
            for (int p = 0; p < classes.Count; p++)
            {
                text.Append("  ").Append(Confusion[a, p].ToString(CultureInfo.InvariantCulture).PadLeft(widths[p]));
            }
            text.AppendLine();
        }
        return text.ToString();
    }

    private static string FormatAuc(double auc) =>
        double.IsNaN(auc) ? "n/a" : auc.ToString("0.0000", CultureInfo.InvariantCulture);
}
