namespace ParticleGrid.Domain;

/// <summary>
/// One cell of a lot's tally: the particles of one type, in one size class, uncertain or not, reviewed or not.
/// </summary>
/// <param name="Type">The type as the profile counts it (the reviewer's label, else the vote); null when the particle failed.</param>
/// <param name="SizeClass">How many of <see cref="SizeBins.LowerEdgesMicrometres"/> the diameter is at or above (0 below 2 um,
/// 5 at 50 um and over; a NaN diameter is 0, as <see cref="SizeBins.CountAtOrAbove"/> counts it nowhere); <see cref="Unsized"/>
/// when the particle has no diameter.</param>
/// <param name="IsUncertain">Uncertain and not reviewed, as <see cref="CountedParticle.IsUncertain"/>.</param>
/// <param name="IsReviewed">A reviewer labelled it.</param>
public readonly record struct LotTallyCell(ParticleType? Type, int SizeClass, bool IsUncertain, bool IsReviewed)
{
    public const int Unsized = -1;

    public static LotTallyCell Of(CountedParticle particle) =>
        new(particle.Type, SizeClassOf(particle.EcdMicrometres), particle.IsUncertain, particle.IsReviewed);

    /// <summary>The size class of a diameter (see <see cref="SizeClass"/>); kept here so that every tally, in memory or stored, agrees.</summary>
    public static int SizeClassOf(double? ecdMicrometres) =>
        ecdMicrometres is not { } ecd ? Unsized : SizeBins.LowerEdgesMicrometres.Count(edge => ecd >= edge);
}

/// <summary>
/// A lot's particles counted by <see cref="LotTallyCell"/>: everything <see cref="LotProfiles.Compute(string, int, LotTally, double?, double?, int, VerdictPolicy?, IEnumerable{DomainShiftCounts}?)"/>
/// reads of them. The store keeps one per lot as particles are recorded and reviewed; <see cref="Of"/> makes one from particles.
/// </summary>
public sealed class LotTally
{
    private readonly Dictionary<LotTallyCell, int> _cells = [];

    public IReadOnlyDictionary<LotTallyCell, int> Cells => _cells;

    public void Add(LotTallyCell cell, int count = 1)
    {
        if (count == 0) return;
        int now = _cells.GetValueOrDefault(cell) + count;
        if (now == 0) _cells.Remove(cell);
        else _cells[cell] = now;
    }

    public static LotTally Of(IEnumerable<CountedParticle> particles)
    {
        ArgumentNullException.ThrowIfNull(particles);
        var tally = new LotTally();
        foreach (var particle in particles) tally.Add(LotTallyCell.Of(particle));
        return tally;
    }
}
