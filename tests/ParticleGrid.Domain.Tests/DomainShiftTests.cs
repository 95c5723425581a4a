namespace ParticleGrid.Domain.Tests;

/// <summary>The domain-shift statistic: a run's unknown share against its model set's expected share.</summary>
public sealed class DomainShiftTests
{
    private static readonly DomainShiftPolicy Policy = new(); // 50 particles, p < 0.001, at least twice the expected share

    private static DomainShiftCheck Check(int classified, int unknown, double? expected = 0.05) =>
        DomainShift.Assess(new DomainShiftCounts("run-1", "set-1", classified, unknown, expected), Policy);

    [Fact]
    public void The_binomial_upper_tail_matches_exact_values()
    {
        // P(X >= 1 | n = 10, p = 0.5) = 1 - 2^-10; P(X >= 10) = 2^-10; P(X >= 3 | n = 5, p = 0.5) = 0.5.
        Assert.Equal(1 - Math.Pow(2, -10), DomainShift.UpperTail(10, 1, 0.5), 12);
        Assert.Equal(Math.Pow(2, -10), DomainShift.UpperTail(10, 10, 0.5), 12);
        Assert.Equal(0.5, DomainShift.UpperTail(5, 3, 0.5), 12);
        Assert.Equal(1, DomainShift.UpperTail(100, 0, 0.05));
        Assert.Equal(0, DomainShift.UpperTail(100, 101, 0.05));
        // A large run neither overflows nor underflows to nonsense: 10 000 particles all unknown at 5 % expected is ~0.
        Assert.InRange(DomainShift.UpperTail(10_000, 10_000, 0.05), 0, 1e-300);
        Assert.InRange(DomainShift.UpperTail(10_000, 500, 0.05), 0.45, 0.55); // the mean itself: about half
    }

    [Fact]
    public void No_alarm_below_the_minimum_number_of_particles_even_when_all_are_unknown()
    {
        var check = Check(classified: 49, unknown: 49);
        Assert.False(check.Alarm);
        Assert.Null(check.PValue);
        Assert.Contains("not tested below 50", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_clearly_higher_unknown_share_raises_the_alarm_with_the_message()
    {
        var check = Check(classified: 200, unknown: 40); // 20 % against 5 %
        Assert.True(check.Alarm);
        Assert.True(check.PValue < 1e-6);
        Assert.Contains(DomainShift.Message, check.Detail, StringComparison.Ordinal);
        Assert.True(Check(classified: 50, unknown: 50).Alarm); // a run of nothing but unknown particles, at the minimum
        // The edges docs/validation.md gives for the defaults at 5 % expected.
        Assert.Equal((false, true), (Check(50, 8).Alarm, Check(50, 9).Alarm));
        Assert.Equal((false, true), (Check(200, 21).Alarm, Check(200, 22).Alarm));
    }

    [Fact]
    public void The_expected_share_and_chance_departures_from_it_raise_no_alarm()
    {
        Assert.False(Check(200, 10).Alarm);  // exactly 5 %
        Assert.False(Check(200, 16).Alarm);  // 8 %: p ~ 0.04, chance at the test's level
        Assert.False(Check(50, 0).Alarm);
    }

    [Fact]
    public void A_significant_but_small_excess_on_a_huge_run_is_not_an_alarm()
    {
        // 7 % against 5 % on 100 000 particles is far past p < 0.001, but not twice the expected share.
        var check = Check(100_000, 7_000);
        Assert.True(check.PValue < 1e-10);
        Assert.False(check.Alarm);
    }

    [Fact]
    public void Without_a_reference_a_run_cannot_be_compared_and_says_so()
    {
        var check = Check(500, 500, expected: null);
        Assert.False(check.Alarm);
        Assert.Contains("no reference", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reference_of_zero_is_floored_so_one_unknown_particle_is_no_alarm()
    {
        Assert.False(Check(100, 1, expected: 0).Alarm);
        Assert.True(Check(100, 20, expected: 0).Alarm);
    }

    [Fact]
    public void The_expected_share_of_a_set_is_the_mean_of_its_networks_missed_validation_shares()
    {
        Assert.Equal(0.05, DomainShift.ExpectedUnknownShare([0.96, 0.95, 0.94])!.Value, 12);
        Assert.Null(DomainShift.ExpectedUnknownShare([0.95, null]));
        Assert.Null(DomainShift.ExpectedUnknownShare([]));
    }

    [Fact]
    public void A_run_in_alarm_makes_its_lot_not_assessable_but_a_fail_on_sizes_stands()
    {
        var sized = Enumerable.Range(0, 10).Select(_ => new CountedParticle(ParticleType.Protein, 12, false)).ToList();
        var shifted = new DomainShiftCounts("run-1", "set-1", 100, 100, 0.05);
        var calm = new DomainShiftCounts("run-2", "set-1", 100, 5, 0.05);

        var lot = LotProfiles.Compute("L", 2, sized, 1, 1, shift: [shifted, calm]);
        Assert.Equal(VerdictOutcome.NotAssessable, lot.Verdict.Outcome);
        Assert.Contains(lot.Verdict.Reasons, r => r.Contains("1 of 2 run(s)", StringComparison.Ordinal) && r.Contains(DomainShift.Message, StringComparison.Ordinal));
        Assert.Equal(DomainShift.Message, lot.DomainShiftAlarm);
        Assert.Contains("DOMAIN SHIFT: " + DomainShift.Message, LotProfileReport.Format(lot), StringComparison.Ordinal);

        var clean = LotProfiles.Compute("L", 2, sized, 1, 1, shift: [calm]);
        Assert.Equal(VerdictOutcome.Pass, clean.Verdict.Outcome);
        Assert.Null(clean.DomainShiftAlarm);

        var failing = LotProfiles.Compute("L", 2, sized, 0.001, 1, shift: [shifted]); // 10 000 per container >= 10 um
        Assert.Equal(VerdictOutcome.Fail, failing.Verdict.Outcome);
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new DomainShiftPolicy { MinParticles = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new DomainShiftPolicy { Significance = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new DomainShiftPolicy { MinShareOverExpected = 0.5 }.Validate());
        Assert.Throws<ArgumentException>(() => new VerdictPolicy { DomainShift = new DomainShiftPolicy { MinExpectedShare = 1 } }.Validate());
    }
}
