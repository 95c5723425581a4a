using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

/// <summary>
/// The verdict never says more than the data supports: every branch of <see cref="CompendialLimits.Judge"/>, on a
/// 1 mL analysed volume and a 1 mL container (limits 6000 particles &gt;= 10 um and 600 &gt;= 25 um per container).
/// </summary>
public class LotVerdictTests
{
    static readonly VerdictPolicy Defaults = new();

    /// <summary>A complete, fully sized lot well within both limits; each test changes one fact.</summary>
    static LotFacts Clean(int sized10 = 100, int sized25 = 10, int unsized = 0) =>
        new(ParticleImages: 1000, Failed: 0, SizedAtOrAbove10: sized10, SizedAtOrAbove25: sized25, Unsized: unsized,
            AnalysedVolumeMl: 1, ContainerVolumeMl: 1, Runs: 2, RunsInProgress: 0);

    [Fact]
    public void A_complete_sized_lot_within_the_limits_passes_without_reasons()
    {
        var verdict = CompendialLimits.Judge(Clean(), Defaults);
        Assert.Equal(VerdictOutcome.Pass, verdict.Outcome);
        Assert.Empty(verdict.Reasons);
        Assert.All(verdict.Checks, c => Assert.Equal(c.Measured, c.WorstCase));
    }

    [Fact]
    public void Unsized_particles_whose_worst_case_stays_within_both_limits_pass_and_the_reasons_count_them()
    {
        // 100 + 89 >= 10 um and 10 + 89 >= 25 um per container: within 6000 and 600 even if all 89 are large.
        var verdict = CompendialLimits.Judge(Clean(unsized: 89), Defaults);
        Assert.Equal(VerdictOutcome.Pass, verdict.Outcome);
        Assert.Contains(verdict.Reasons, r => r.Contains("89 counted particles had no size"));
        var at25 = verdict.Checks.Single(c => c.SizeMicrometres == 25);
        Assert.Equal((10, 99), (at25.Measured, at25.WorstCase));
        Assert.True(at25.WorstCasePasses);
    }

    [Fact]
    public void A_lot_over_a_limit_on_its_sized_particles_alone_fails_whatever_is_unsized()
    {
        var verdict = CompendialLimits.Judge(Clean(sized10: 700, sized25: 650, unsized: 5000), Defaults);
        Assert.Equal(VerdictOutcome.Fail, verdict.Outcome);
        Assert.False(verdict.Checks.Single(c => c.SizeMicrometres == 25).Passes);
        Assert.StartsWith("the lot exceeds a limit on its sized particles alone", verdict.Reasons[0]);
        Assert.Contains(verdict.Reasons, r => r.Contains("5000 counted particles have no size"));
    }

    [Fact]
    public void Unsized_particles_that_could_push_a_sized_pass_over_a_limit_make_the_lot_not_assessable()
    {
        // The incident of issue 14: 89 particles, none sized, in 0.01 mL of a 1 mL container: worst case 8900 per container.
        var facts = Clean(sized10: 0, sized25: 0, unsized: 89) with { ParticleImages = 89, AnalysedVolumeMl = 0.01 };
        var verdict = CompendialLimits.Judge(facts, Defaults);
        Assert.Equal(VerdictOutcome.NotAssessable, verdict.Outcome);
        Assert.All(verdict.Checks, c => Assert.True(c.Passes));
        Assert.All(verdict.Checks, c => Assert.False(c.WorstCasePasses));
        string reason = Assert.Single(verdict.Reasons);
        Assert.Contains("89 counted particles have no size", reason);
        Assert.Contains("--um-per-pixel", reason);
    }

    [Fact]
    public void A_missing_analysed_volume_is_not_assessable()
    {
        var verdict = CompendialLimits.Judge(Clean() with { AnalysedVolumeMl = null }, Defaults);
        Assert.Equal(VerdictOutcome.NotAssessable, verdict.Outcome);
        Assert.Empty(verdict.Checks);
        Assert.Contains("no analysed volume", Assert.Single(verdict.Reasons));
    }

    [Fact]
    public void A_lot_without_runs_is_not_assessable()
    {
        var verdict = CompendialLimits.Judge(Clean(0, 0) with { ParticleImages = 0, AnalysedVolumeMl = null, Runs = 0 }, Defaults);
        Assert.Equal(VerdictOutcome.NotAssessable, verdict.Outcome);
        Assert.Contains("no run of this lot", Assert.Single(verdict.Reasons));
    }

    [Fact]
    public void Runs_still_in_progress_make_the_lot_not_assessable()
    {
        var verdict = CompendialLimits.Judge(Clean() with { RunsInProgress = 1 }, Defaults);
        Assert.Equal(VerdictOutcome.NotAssessable, verdict.Outcome);
        Assert.Contains("1 of 2 run(s) still in progress", Assert.Single(verdict.Reasons));
    }

    [Theory]
    [InlineData(10, VerdictOutcome.Pass)]          // 1 %: the default allows it
    [InlineData(11, VerdictOutcome.NotAssessable)] // 1.1 %
    public void Failed_particles_above_the_configured_share_make_the_lot_not_assessable(int failed, VerdictOutcome expected)
    {
        var verdict = CompendialLimits.Judge(Clean() with { Failed = failed }, Defaults);
        Assert.Equal(expected, verdict.Outcome);
        Assert.Contains(verdict.Reasons, r => r.Contains($"{failed}") && r.Contains("could not be classified"));
        if (expected == VerdictOutcome.NotAssessable) Assert.Contains("MaxFailedShare", Assert.Single(verdict.Reasons));
    }

    [Fact]
    public void The_failed_share_is_the_sites_to_set()
    {
        var verdict = CompendialLimits.Judge(Clean() with { Failed = 11 }, new VerdictPolicy { MaxFailedShare = 0.05 });
        Assert.Equal(VerdictOutcome.Pass, verdict.Outcome);
        Assert.Throws<ArgumentException>(() => new VerdictPolicy { MaxFailedShare = 1.5 }.Validate());
        Assert.Throws<ArgumentException>(() => new VerdictPolicy { MaxFailedShare = double.NaN }.Validate());
    }

    [Fact]
    public void Every_reason_is_listed_at_once()
    {
        var facts = Clean(sized10: 0, sized25: 0, unsized: 89) with
        {
            ParticleImages = 100, Failed = 11, AnalysedVolumeMl = null, ContainerVolumeMl = null, RunsInProgress = 2,
        };
        var verdict = CompendialLimits.Judge(facts, Defaults);
        Assert.Equal(VerdictOutcome.NotAssessable, verdict.Outcome);
        Assert.Collection(verdict.Reasons,
            r => Assert.Contains("no analysed volume", r),
            r => Assert.Contains("container volume is unknown", r),
            r => Assert.Contains("2 of 2 run(s) still in progress", r),
            r => Assert.Contains("11 of 100 particle images (11 %) could not be classified", r),
            r => Assert.Contains("89 counted particles have no size", r));
        Assert.Equal(string.Join("; ", verdict.Reasons), verdict.Reason);
    }

    [Fact]
    public void A_fail_on_what_is_known_stays_fail_and_lists_what_is_missing()
    {
        var verdict = CompendialLimits.Judge(Clean(sized10: 7000, sized25: 10) with { RunsInProgress = 1, Failed = 50 }, Defaults);
        Assert.Equal(VerdictOutcome.Fail, verdict.Outcome);
        Assert.Equal(3, verdict.Reasons.Count);
        Assert.Contains("fails on what is known", verdict.Reasons[0]);
        Assert.Contains("still in progress", verdict.Reasons[1]);
        Assert.Contains("could not be classified", verdict.Reasons[2]);
    }

    [Fact]
    public void Bubbles_without_a_size_are_never_counted_and_failed_ones_are()
    {
        // Through the profile: an unsized bubble changes nothing; an unsized failed particle is a counted particle.
        // 120 particles >= 25 um in 0.2 mL: 600 per 1 mL container, right at the limit; one more would exceed it.
        var sized = Enumerable.Repeat(new CountedParticle(ParticleType.Protein, 30, false), 120).ToList();
        var bubbles = LotProfiles.Compute("L", 1, [.. sized, new CountedParticle(ParticleType.Bubble, null, false)], 0.2, 1);
        Assert.Equal(VerdictOutcome.Pass, bubbles.Verdict.Outcome);
        Assert.Empty(bubbles.Verdict.Reasons);

        var failed = LotProfiles.Compute("L", 1, [.. sized, new CountedParticle(null, null, false)], 0.2, 1, policy: new VerdictPolicy { MaxFailedShare = 0.5 });
        Assert.Equal(VerdictOutcome.NotAssessable, failed.Verdict.Outcome);   // worst case 605 > 600 at 25 um
        Assert.Contains(failed.Verdict.Reasons, r => r.Contains("1 counted particle has no size"));
    }

    [Fact]
    public void The_report_shows_the_worst_case_and_every_reason()
    {
        var particles = Enumerable.Repeat(new CountedParticle(ParticleType.Glass, null, false), 89);
        var profile = LotProfiles.Compute("LOT-U", 1, particles, 0.01, 1, runsInProgress: 1);
        string text = LotProfileReport.Format(profile);
        Assert.Contains("Verdict: NOT ASSESSABLE", text);
        Assert.Contains("without size: 89   runs in progress: 1", text);
        Assert.Contains(">= 25 um: 0 per container sized, up to 8900 with the unsized (limit 600) worst case EXCEEDED", text);
        Assert.Contains("    - 1 of 1 run(s) still in progress", text);
        Assert.Contains("    - 89 counted particles have no size", text);
    }
}
