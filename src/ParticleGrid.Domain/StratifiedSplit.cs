namespace ParticleGrid.Domain;

/// <summary>
/// Splits a labelled set into training and validation parts with the same class proportions, as the study's
/// 70 % / 30 % split. Every class is shuffled on its own with a seeded random generator, so a split is repeatable
/// and adding a class does not change how the others are split.
/// </summary>
public static class StratifiedSplit
{
    /// <summary>
    /// Puts round(n x <paramref name="validationFraction"/>) of each class's n items into validation: at least one
    /// when the class has two or more items, never all of them (a lone item stays in training).
    /// </summary>
    /// <param name="labels">The class label of each item; any integers.</param>
    /// <param name="validationFraction">The share to validate on, strictly between 0 and 1.</param>
    /// <param name="seed">The same seed gives the same split.</param>
    /// <returns>The item indices of each part, ascending.</returns>
    public static (int[] Train, int[] Validation) Split(IReadOnlyList<int> labels, double validationFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (!(validationFraction > 0 && validationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be between 0 and 1 (exclusive).");
        }

        var train = new List<int>();
        var validation = new List<int>();
        var itemsByClass = Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key);
        foreach (IGrouping<int, int> items in itemsByClass)
        {
            int[] indices = [.. items];
            new Random(Seeds.Derive(seed, items.Key)).Shuffle(indices);
            int take = ValidationCount(indices.Length, validationFraction);
            validation.AddRange(indices[..take]);
            train.AddRange(indices[take..]);
        }

        int[] trainSorted = [.. train.Order()];
        int[] validationSorted = [.. validation.Order()];
        return (trainSorted, validationSorted);
    }

    private static int ValidationCount(int classSize, double fraction)
    {
        if (classSize < 2) return 0;
        int count = (int)Math.Round(classSize * fraction, MidpointRounding.AwayFromZero);
        return Math.Clamp(count, 1, classSize - 1);
    }
}
