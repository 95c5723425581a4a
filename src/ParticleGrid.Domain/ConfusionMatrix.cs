namespace ParticleGrid.Domain;

/// <summary>
/// Counts of (actual class, predicted class) pairs. Rows are the actual class, columns the predicted class;
/// classes are referred to by their index in <see cref="Classes"/>.
/// </summary>
public sealed class ConfusionMatrix(IReadOnlyList<string> classes)
{
    private readonly int[,] _counts = new int[CheckClasses(classes).Count, classes.Count];

    /// <summary>The class names, in index order.</summary>
    public IReadOnlyList<string> Classes { get; } = [.. classes];

    /// <summary>How many pairs have been added.</summary>
    public int Total { get; private set; }

    /// <summary>The number of items of class <paramref name="actual"/> that were predicted as <paramref name="predicted"/>.</summary>
    public int this[int actual, int predicted]
    {
        get
        {
            CheckIndex(actual, nameof(actual));
            CheckIndex(predicted, nameof(predicted));
            return _counts[actual, predicted];
        }
    }

    /// <summary>Records one item of class <paramref name="actual"/> predicted as <paramref name="predicted"/>.</summary>
    public void Add(int actual, int predicted)
    {
        CheckIndex(actual, nameof(actual));
        CheckIndex(predicted, nameof(predicted));
        _counts[actual, predicted]++;
        Total++;
    }

    /// <summary>The share of items predicted correctly (0 when empty).</summary>
    public double Accuracy
    {
        get
        {
            int correct = 0;
            for (int c = 0; c < Classes.Count; c++) correct += _counts[c, c];
            return Ratio(correct, Total);
        }
    }

    /// <summary>How many items truly belong to class <paramref name="c"/> (its row sum).</summary>
    public int Support(int c)
    {
        CheckIndex(c, nameof(c));
        int sum = 0;
        for (int predicted = 0; predicted < Classes.Count; predicted++) sum += _counts[c, predicted];
        return sum;
    }

    /// <summary>How many items were predicted as class <paramref name="c"/> (its column sum).</summary>
    public int PredictedCount(int c)
    {
        CheckIndex(c, nameof(c));
        int sum = 0;
        for (int actual = 0; actual < Classes.Count; actual++) sum += _counts[actual, c];
        return sum;
    }

    /// <summary>Of the items predicted as <paramref name="c"/>, the share that are <paramref name="c"/>; 0 when none were predicted.</summary>
    public double Precision(int c) => Ratio(this[c, c], PredictedCount(c));

    /// <summary>Of the items of class <paramref name="c"/>, the share predicted as <paramref name="c"/>; 0 when there are none.</summary>
    public double Recall(int c) => Ratio(this[c, c], Support(c));

    /// <summary>The harmonic mean of precision and recall; 0 when both are 0.</summary>
    public double F1(int c)
    {
        double precision = Precision(c), recall = Recall(c);
        return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
    }

    private static double Ratio(int numerator, int denominator) => denominator == 0 ? 0 : (double)numerator / denominator;

    private void CheckIndex(int index, string name)
    {
        if ((uint)index >= (uint)Classes.Count)
        {
            throw new ArgumentOutOfRangeException(name, index, $"Class index must be 0..{Classes.Count - 1}.");
        }
    }

    private static IReadOnlyList<string> CheckClasses(IReadOnlyList<string> classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Count == 0) throw new ArgumentException("A confusion matrix needs at least one class.", nameof(classes));
        return classes;
    }
}
