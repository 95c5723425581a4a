namespace ParticleGrid.Domain;

/// <summary>
/// The size classes FIM reports counts in: particles with an equivalent circular diameter (ECD) at or above
/// 2, 5, 10, 25 and 50 um. The classes are cumulative, so a 30 um particle counts in >=2, >=5, >=10 and >=25.
/// </summary>
public static class SizeBins
{
    /// <summary>The lower edges of the size classes in micrometres, ascending.</summary>
    public static IReadOnlyList<double> LowerEdgesMicrometres { get; } = [2, 5, 10, 25, 50];

    /// <summary>
    /// Counts the particles at or above each lower edge (one count per entry of <see cref="LowerEdgesMicrometres"/>).
    /// A NaN diameter counts nowhere.
    /// </summary>
    public static int[] CountAtOrAbove(IEnumerable<double> ecdMicrometres)
    {
        ArgumentNullException.ThrowIfNull(ecdMicrometres);
        var counts = new int[LowerEdgesMicrometres.Count];
        foreach (double ecd in ecdMicrometres)
        {
            for (int bin = 0; bin < counts.Length; bin++)
            {
                if (ecd >= LowerEdgesMicrometres[bin]) counts[bin]++;
            }
        }
        return counts;
    }
}
