namespace ParticleGrid.Domain.Confidence;

/// <summary>
/// How well an out-of-scope score separates images the models were trained for from images they were not: the area
/// under the ROC curve (the chance that an out-of-scope image scores above an in-scope one; 0.5 is a coin, 1 perfect),
/// and at the operating threshold the share of out-of-scope images flagged and of in-scope images kept.
/// </summary>
public sealed record OutOfScopeSeparation(int InScope, int OutOfScope, double AreaUnderRoc, double FlaggedShare, double KeptShare)
{
    /// <param name="inScope">Scores of in-scope images.</param>
    /// <param name="outOfScope">Scores of out-of-scope images.</param>
    /// <param name="threshold">A score at or above it is "unknown".</param>
    public static OutOfScopeSeparation Of(IReadOnlyList<double> inScope, IReadOnlyList<double> outOfScope, double threshold) => new(
        inScope.Count, outOfScope.Count, Auroc(inScope, outOfScope),
        outOfScope.Count == 0 ? double.NaN : (double)outOfScope.Count(s => s >= threshold) / outOfScope.Count,
        inScope.Count == 0 ? double.NaN : (double)inScope.Count(s => s < threshold) / inScope.Count);

    /// <summary>The Mann-Whitney estimate of the AUROC (ties count half), by sorting: O((n + m) log(n + m)).</summary>
    public static double Auroc(IReadOnlyList<double> inScope, IReadOnlyList<double> outOfScope)
    {
        if (inScope.Count == 0 || outOfScope.Count == 0) return double.NaN;
        var all = inScope.Select(s => (Score: s, Out: false)).Concat(outOfScope.Select(s => (Score: s, Out: true))).OrderBy(p => p.Score).ToList();
        double rankSum = 0;
        for (int i = 0; i < all.Count;)
        {
            int j = i;
            while (j < all.Count && all[j].Score.Equals(all[i].Score)) j++;
            double averageRank = (i + 1 + j) / 2.0; // ranks i+1..j share their mean
            for (int k = i; k < j; k++) if (all[k].Out) rankSum += averageRank;
            i = j;
        }
        double m = outOfScope.Count, n = inScope.Count;
        return (rankSum - m * (m + 1) / 2) / (m * n);
    }
}

/// <summary>How the ensemble says "unknown" from its networks' out-of-scope scores.</summary>
public static class OutOfScopeVote
{
    /// <summary>
    /// The ensemble's out-of-scope ratio: the mean over its networks of each score divided by that network's own
    /// threshold (so 1 is "at threshold" for every network, whatever its scale); null when no network has a reference.
    /// A particle at or above 1 is unknown. The mean lets two networks that are sure outvote one that is fooled.
    /// </summary>
    public static double? Combine(IReadOnlyList<double?> ratios)
    {
        var known = ratios.Where(r => r is not null).Select(r => r!.Value).ToList();
        return known.Count == 0 ? null : known.Average();
    }

    public static bool IsUnknown(double? ratio) => ratio is >= 1;
}
