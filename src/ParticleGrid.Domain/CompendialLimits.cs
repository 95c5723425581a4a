namespace ParticleGrid.Domain;

/// <summary>The outcome of judging a lot against the compendial particle limits.</summary>
public enum VerdictOutcome
{
    /// <summary>Every limit holds.</summary>
    Pass,

    /// <summary>At least one limit is exceeded.</summary>
    Fail,

    /// <summary>The lot cannot be judged yet (no analysed volume, or no container volume); the reason says which.</summary>
    NotJudged,
}

/// <summary>One limit and what the lot measured against it.</summary>
/// <param name="SizeMicrometres">The size class the limit applies to (particles at or above it).</param>
/// <param name="Limit">The largest allowed value.</param>
/// <param name="Unit">"per container" or "per mL".</param>
/// <param name="Measured">The lot's value in the same unit.</param>
/// <param name="Passes">True when <paramref name="Measured"/> is at most <paramref name="Limit"/>.</param>
public sealed record LimitCheck(double SizeMicrometres, double Limit, string Unit, double Measured, bool Passes);

/// <summary>A lot's verdict against ChP 2020 &lt;0903&gt; / USP &lt;788&gt; and the checks behind it.</summary>
public sealed record CompendialVerdict(VerdictOutcome Outcome, string Basis, IReadOnlyList<LimitCheck> Checks, string? Reason);

/// <summary>
/// The particle limits of ChP 2020 &lt;0903&gt; and USP &lt;788&gt; (light obscuration) for parenterals, as DOMAIN.md gives them:
/// small-volume parenterals (at most 100 mL) at most 6000 particles &gt;= 10 um and 600 &gt;= 25 um per container;
/// larger containers at most 25 per mL &gt;= 10 um and 3 per mL &gt;= 25 um.
/// FIM counts are compared as light obscuration would see them: every particle except air bubbles (artefacts).
/// </summary>
public static class CompendialLimits
{
    public const double SmallVolumeParenteralMaxMl = 100;
    public const string Basis = "ChP 2020 <0903> / USP <788>";

    /// <summary>Judges per-mL counts at or above 10 um and 25 um, given the container volume (null: unknown).</summary>
    public static CompendialVerdict Judge(double? perMlAtOrAbove10, double? perMlAtOrAbove25, double? containerVolumeMl)
    {
        if (perMlAtOrAbove10 is null || perMlAtOrAbove25 is null)
        {
            return new CompendialVerdict(VerdictOutcome.NotJudged, Basis, [], "no analysed volume is known, so there are no counts per mL");
        }
        if (containerVolumeMl is null)
        {
            return new CompendialVerdict(VerdictOutcome.NotJudged, Basis, [],
                "the container volume is unknown; the limits are per container (or per mL above 100 mL)");
        }

        double volume = containerVolumeMl.Value;
        LimitCheck[] checks = volume <= SmallVolumeParenteralMaxMl
            ?
            [
                Check(10, 6000, "per container", perMlAtOrAbove10.Value * volume),
                Check(25, 600, "per container", perMlAtOrAbove25.Value * volume),
            ]
            :
            [
                Check(10, 25, "per mL", perMlAtOrAbove10.Value),
                Check(25, 3, "per mL", perMlAtOrAbove25.Value),
            ];
        string basis = volume <= SmallVolumeParenteralMaxMl
            ? $"{Basis}, small-volume parenteral ({volume:0.###} mL container): limits per container"
            : $"{Basis}, large-volume parenteral ({volume:0.###} mL container): limits per mL";
        var outcome = checks.All(c => c.Passes) ? VerdictOutcome.Pass : VerdictOutcome.Fail;
        return new CompendialVerdict(outcome, basis, checks, null);
    }

    private static LimitCheck Check(double size, double limit, string unit, double measured) =>
        new(size, limit, unit, measured, measured <= limit);
}
