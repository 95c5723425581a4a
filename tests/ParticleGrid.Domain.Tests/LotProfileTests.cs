using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

public class LotProfileTests
{
    static CountedParticle P(ParticleType? type, double? ecd, bool uncertain = false) => new(type, ecd, uncertain);

    [Fact]
    public void Counts_each_type_in_cumulative_size_classes_per_mL_and_per_container()
    {
        var particles = new[]
        {
            P(ParticleType.Protein, 30), P(ParticleType.Protein, 3), P(ParticleType.Glass, 12),
            P(ParticleType.SiliconeOil, 6), P(ParticleType.Bubble, 60), P(ParticleType.Protein, null),
        };
        var profile = LotProfiles.Compute("L1", 2, particles, analysedVolumeMl: 0.5, containerVolumeMl: 2);

        var protein = profile.Types.Single(t => t.Type == "protein");
        Assert.Equal(3, protein.Count);
        Assert.Equal([2, 1, 1, 1, 0], protein.SizeClasses.Select(s => s.Count));
        Assert.Equal(4.0, protein.SizeClasses[0].PerMl);
        Assert.Equal(8.0, protein.SizeClasses[0].PerContainer);
        Assert.Equal(1, profile.WithoutSize);
        Assert.Equal(6, profile.Particles);
    }

    [Fact]
    public void Bubbles_stay_out_of_particle_totals_and_silicone_oil_is_kept_apart()
    {
        var particles = new[] { P(ParticleType.Bubble, 60), P(ParticleType.SiliconeOil, 12), P(ParticleType.Protein, 12), P(null, 11) };
        var profile = LotProfiles.Compute("L1", 1, particles, 1, 1);

        Assert.False(profile.Types.Single(t => t.Type == "bubble").CountsAsParticle);
        Assert.Equal(3, profile.ParticlesExcludingBubbles.SizeClasses[2].Count);       // >= 10 um: oil, protein, unclassified
        Assert.Equal(2, profile.ParticlesExcludingBubblesAndSiliconeOil.SizeClasses[2].Count);
        Assert.Equal(0, profile.ParticlesExcludingBubbles.SizeClasses[4].Count);        // the 60 um bubble counts nowhere
        Assert.Equal(1, profile.Failed);
        Assert.Equal(1, profile.Types.Single(t => t.Type == LotProfiles.Unclassified).Count);
    }

    [Fact]
    public void Small_volume_parenteral_fails_above_6000_per_container_at_10_um()
    {
        // 31 particles >= 10 um in 0.01 mL analysed = 3100 per mL; a 2 mL container holds 6200 > 6000.
        var particles = Enumerable.Repeat(P(ParticleType.Protein, 15), 31);
        var profile = LotProfiles.Compute("L1", 1, particles, 0.01, 2);
        Assert.Equal(VerdictOutcome.Fail, profile.Verdict.Outcome);
        var check = profile.Verdict.Checks.Single(c => c.SizeMicrometres == 10);
        Assert.Equal("per container", check.Unit);
        Assert.Equal(6200, check.Measured, 6);
        Assert.False(check.Passes);
        Assert.True(profile.Verdict.Checks.Single(c => c.SizeMicrometres == 25).Passes);
    }

    [Fact]
    public void Bubbles_alone_never_fail_a_lot()
    {
        var particles = Enumerable.Repeat(P(ParticleType.Bubble, 40), 1000);
        var profile = LotProfiles.Compute("L1", 1, particles, 0.01, 2);
        Assert.Equal(VerdictOutcome.Pass, profile.Verdict.Outcome);
    }

    [Fact]
    public void Large_volume_parenteral_is_judged_per_mL()
    {
        var particles = Enumerable.Repeat(P(ParticleType.Glass, 26), 4);  // 4 per mL >= 25 um > 3
        var profile = LotProfiles.Compute("L1", 1, particles, 1, 250);
        Assert.Equal(VerdictOutcome.Fail, profile.Verdict.Outcome);
        Assert.All(profile.Verdict.Checks, c => Assert.Equal("per mL", c.Unit));
        Assert.True(profile.Verdict.Checks.Single(c => c.SizeMicrometres == 10).Passes);
    }

    [Theory]
    [InlineData(null, 2.0, "analysed volume")]
    [InlineData(1.0, null, "container volume")]
    public void Without_volumes_the_lot_is_not_judged_and_says_why(double? analysed, double? container, string reason)
    {
        var profile = LotProfiles.Compute("L1", 1, [P(ParticleType.Glass, 26)], analysed, container);
        Assert.Equal(VerdictOutcome.NotAssessable, profile.Verdict.Outcome);
        Assert.Contains(reason, profile.Verdict.Reason);
        if (analysed is null) Assert.Null(profile.Types.Single(t => t.Type == "glass").SizeClasses[0].PerMl);
    }

    [Fact]
    public void Uncertain_particles_count_under_their_vote_and_are_reported()
    {
        var profile = LotProfiles.Compute("L1", 1, [P(ParticleType.Glass, 26, uncertain: true), P(ParticleType.Glass, 3)], 1, 1);
        var glass = profile.Types.Single(t => t.Type == "glass");
        Assert.Equal(2, glass.Count);
        Assert.Equal(1, glass.Uncertain);
        Assert.Equal(1, profile.Uncertain);
    }

    [Fact]
    public void Formatted_profile_names_every_type_and_the_verdict()
    {
        var profile = LotProfiles.Compute("LOT-A", 2, [P(ParticleType.Glass, 26), P(ParticleType.Bubble, 8), P(ParticleType.SiliconeOil, 4), P(ParticleType.Protein, 11)], 0.5, 2);
        string text = LotProfileReport.Format(profile);
        foreach (var word in new[] { "LOT-A", "bubble", "silicone oil", "glass", "protein", ">=25", "Pass" }) Assert.Contains(word, text);
    }
}
