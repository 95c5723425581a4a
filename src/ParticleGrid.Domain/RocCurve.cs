namespace ParticleGrid.Domain;

/// <summary>One operating point of a ROC curve: calling "positive" every score at or above <see cref="Threshold"/>.</summary>
public sealed record RocPoint(double FalsePositiveRate, double TruePositiveRate, double Threshold);

/// <summary>
/// A receiver operating characteristic curve for one class against the rest, and the area under it.
/// Tied scores form a single step (a diagonal segment), so the trapezoid area equals the Mann–Whitney statistic:
/// the chance that a random positive scores above a random negative, ties counting one half.
/// </summary>
public sealed class RocCurve
{
    private RocCurve(IReadOnlyList<RocPoint> points, double auc)
    {
        Points = points;
        Auc = auc;
    }

    /// <summary>
    /// The operating points from (0, 0) at threshold +infinity to (1, 1) at the lowest score, one per distinct score.
    /// Empty when there are no positives or no negatives (the rates are then undefined).
    /// </summary>
    public IReadOnlyList<RocPoint> Points { get; }

    /// <summary>The area under the curve; <see cref="double.NaN"/> when there are no positives or no negatives.</summary>
    public double Auc { get; }

    /// <summary>
    /// The ROC of class <paramref name="positiveClass"/> against all others, scored by each item's probability
    /// for that class.
    /// </summary>
    /// <param name="actual">The true class index of each item.</param>
    /// <param name="probabilities">Each item's class probabilities (one row per item).</param>
    /// <param name="positiveClass">The class treated as positive.</param>
    public static RocCurve OneVsRest(IReadOnlyList<int> actual, IReadOnlyList<IReadOnlyList<float>> probabilities, int positiveClass)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(probabilities);
        if (actual.Count != probabilities.Count)
        {
            throw new ArgumentException(
                $"There are {actual.Count} labels but {probabilities.Count} probability rows; they must match.", nameof(probabilities));
        }

        var scored = new (double Score, bool Positive)[actual.Count];
        int positives = 0;
        for (int i = 0; i < scored.Length; i++)
        {
            IReadOnlyList<float> row = probabilities[i]
                ?? throw new ArgumentException($"Probability row {i} is null.", nameof(probabilities));
            if ((uint)positiveClass >= (uint)row.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(positiveClass), positiveClass,
                    $"Row {i} has {row.Count} classes, so the positive class must be 0..{row.Count - 1}.");
            }
            float score = row[positiveClass];
            if (float.IsNaN(score)) throw new ArgumentException($"Probability row {i} holds NaN.", nameof(probabilities));
            bool positive = actual[i] == positiveClass;
            if (positive) positives++;
            scored[i] = (score, positive);
        }

        int negatives = scored.Length - positives;
        if (positives == 0 || negatives == 0) return new RocCurve([], double.NaN);

        // Walk the scores from high to low; each distinct score admits all items holding it at once.
        Array.Sort(scored, (a, b) => b.Score.CompareTo(a.Score));
        var points = new List<RocPoint> { new(0, 0, double.PositiveInfinity) };
        int truePositives = 0, falsePositives = 0;
        double area = 0;
        for (int i = 0; i < scored.Length;)
        {
            double threshold = scored[i].Score;
            int previousTp = truePositives, previousFp = falsePositives;
            for (; i < scored.Length && scored[i].Score == threshold; i++)
            {
                if (scored[i].Positive) truePositives++;
                else falsePositives++;
            }
            // Trapezoid in counts: width (new negatives) x mean height (positives before and after).
            area += (falsePositives - previousFp) * (truePositives + previousTp) / 2.0;
            points.Add(new RocPoint((double)falsePositives / negatives, (double)truePositives / positives, threshold));
        }
        return new RocCurve(points, area / ((double)positives * negatives));
    }
}
