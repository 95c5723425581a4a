namespace ParticleGrid.Domain.Tests;

/// <summary>
/// The lines a host refuses to start with, to the letter: an operator reads them to find the appsettings entry to fix,
/// and they were written out by hand before one helper (SettingsCheck) wrote them all. Whole-number values, so the
/// lines read the same in every culture.
/// </summary>
public sealed class SettingsMessageTests
{
    private static string Refusal(Action validate) => Assert.Throws<ArgumentException>(validate).Message;

    [Fact]
    public void Domain_shift_settings_say_what_to_fix()
    {
        Assert.Equal("domain shift: MinParticles 0 must be at least 1", Refusal(() => new DomainShiftPolicy { MinParticles = 0 }.Validate()));
        Assert.Equal("domain shift: Significance 2 must be between 0 and 1 (0.001 is 0.1 %)",
            Refusal(() => new DomainShiftPolicy { Significance = 2 }.Validate()));
        Assert.Equal("domain shift: MinShareOverExpected 0 must be a factor of at least 1",
            Refusal(() => new DomainShiftPolicy { MinShareOverExpected = 0 }.Validate()));
        Assert.Equal("domain shift: MinExpectedShare 1 must be a share between 0 and 1",
            Refusal(() => new DomainShiftPolicy { MinExpectedShare = 1 }.Validate()));
    }

    [Fact]
    public void Gate_settings_say_what_to_fix()
    {
        Assert.Equal("gate: Margin 2 must be between 0 and 1 (0.02 is 2 points of accuracy)", Refusal(() => new ModelGatePolicy { Margin = 2 }.Validate()));
        Assert.Equal("gate: RecallMargin 2 must be between 0 and 1", Refusal(() => new ModelGatePolicy { RecallMargin = 2 }.Validate()));
        Assert.Equal("gate: MinReviewedPerClass 0 must be at least 1", Refusal(() => new ModelGatePolicy { MinReviewedPerClass = 0 }.Validate()));
        Assert.Equal("gate: MaxReviewedPerClass 10 must be at least MinReviewedPerClass (50)",
            Refusal(() => new ModelGatePolicy { MinReviewedPerClass = 50, MaxReviewedPerClass = 10 }.Validate()));
    }

    [Fact]
    public void Verdict_settings_say_what_to_fix_including_their_domain_shift_section()
    {
        Assert.Equal("verdict: MaxFailedShare 2 must be a share between 0 and 1 (0.01 is 1 %)", Refusal(() => new VerdictPolicy { MaxFailedShare = 2 }.Validate()));
        Assert.Equal("verdict: MaxUnknownShare 3 must be a share between 0 and 1 (0.1 is 10 %)", Refusal(() => new VerdictPolicy { MaxUnknownShare = 3 }.Validate()));
        Assert.Equal("domain shift: MinParticles 0 must be at least 1",
            Refusal(() => new VerdictPolicy { DomainShift = new DomainShiftPolicy { MinParticles = 0 } }.Validate()));
    }
}
