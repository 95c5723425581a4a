using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

/// <summary>The tally a store keeps per lot: everything a profile reads of the particles, counted by cell.</summary>
public class LotTallyTests
{
    [Theory]
    [InlineData(null, LotTallyCell.Unsized)]
    [InlineData(1.99, 0)]
    [InlineData(2.0, 1)]
    [InlineData(9.99, 2)]
    [InlineData(10.0, 3)]
    [InlineData(25.0, 4)]
    [InlineData(50.0, 5)]
    [InlineData(double.NaN, 0)]   // sized, but counted in no class, as SizeBins counts it
    public void A_diameter_falls_in_the_class_of_every_edge_it_reaches(double? ecd, int sizeClass) =>
        Assert.Equal(sizeClass, LotTallyCell.SizeClassOf(ecd));

    [Fact]
    public void Cells_added_and_taken_away_leave_the_tally_a_recount_would_make()
    {
        var reviewed = new CountedParticle(ParticleType.Glass, 30, false, IsReviewed: true);
        var tally = LotTally.Of([new(ParticleType.Protein, 30, true), new(ParticleType.Protein, 30, true), new(null, null, false)]);
        // A review moves one uncertain protein to a reviewed glass particle.
        tally.Add(LotTallyCell.Of(new CountedParticle(ParticleType.Protein, 30, true)), -1);
        tally.Add(LotTallyCell.Of(reviewed));
        var recount = LotTally.Of([new(ParticleType.Protein, 30, true), reviewed, new(null, null, false)]);
        Assert.Equal(recount.Cells.OrderBy(c => c.Key.ToString()), tally.Cells.OrderBy(c => c.Key.ToString()));

        var profile = LotProfiles.Compute("L", 1, tally, 1, 1);
        Assert.Equal((3, 1, 1, 1, 1), (profile.Particles, profile.Uncertain, profile.Reviewed, profile.Failed, profile.WithoutSize));
        Assert.Equal([2, 2, 2, 2, 0], profile.ParticlesExcludingBubbles.SizeClasses.Select(s => s.Count));
    }
}
