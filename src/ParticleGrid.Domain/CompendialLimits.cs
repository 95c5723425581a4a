using System.Globalization;

namespace ParticleGrid.Domain;

/// <summary>The outcome of judging a lot against the compendial particle limits.</summary>
public enum VerdictOutcome
{
    /// <summary>Every limit holds, even with every unsized particle counted at &gt;= 25 um, and nothing the verdict needs is missing.</summary>
    Pass,

    /// <summary>At least one limit is exceeded by the lot's sized particles alone: what is known already fails the lot.</summary>
    Fail,

    /// <summary>
    /// The data does not support a Pass and the sized particles do not fail the lot: a volume is missing, runs are still in
    /// progress, too many particles failed, or the unsized particles could push the lot over a limit. The reasons say which.
    /// </summary>
    NotAssessable,
}

/// <summary>One limit and what the lot measured against it.</summary>
/// <param name="SizeMicrometres">The size class the limit applies to (particles at or above it).</param>
/// <param name="Limit">The largest allowed value.</param>
/// <param name="Unit">"per container" or "per mL".</param>
/// <param name="Measured">The lot's value in the same unit, from its sized particles.</param>
/// <param name="Passes">True when <paramref name="Measured"/> is at most <paramref name="Limit"/>.</param>
/// <param name="WorstCase">The value with every counted particle that has no size placed at &gt;= 25 um (so in every
/// size class up to 25 um); equal to <paramref name="Measured"/> when every particle is sized.</param>
/// <param name="WorstCasePasses">True when <paramref name="WorstCase"/> is at most <paramref name="Limit"/>.</param>
public sealed record LimitCheck(double SizeMicrometres, double Limit, string Unit, double Measured, bool Passes, double WorstCase, bool WorstCasePasses);

/// <summary>A lot's verdict against ChP 2020 &lt;0903&gt; / USP &lt;788&gt;, the checks behind it, and every reason it is what it is.</summary>
/// <param name="Reasons">Why the lot is not assessable, what a Fail does not depend on, or what a Pass stood despite
/// (unsized particles, failed ones). Empty for a plain Pass or Fail.</param>
public sealed record CompendialVerdict(VerdictOutcome Outcome, string Basis, IReadOnlyList<LimitCheck> Checks, IReadOnlyList<string> Reasons)
{
    /// <summary>The reasons in one line, or null when there are none (the API's first clients read this one field).</summary>
    public string? Reason => Reasons.Count == 0 ? null : string.Join("; ", Reasons);
}

/// <summary>
/// The facts about a lot that its verdict is judged on: pure data, so every rule can be tested without a store.
/// Counted particles are all but air bubbles (artefacts); failed particles are counted, as nothing shows they are bubbles.
/// </summary>
/// <param name="ParticleImages">Every particle image recorded for the lot (bubbles and failed ones included).</param>
/// <param name="Failed">Of those, the ones that could not be classified.</param>
/// <param name="SizedAtOrAbove10">Counted particles with a size of at least 10 um.</param>
/// <param name="SizedAtOrAbove25">Counted particles with a size of at least 25 um.</param>
/// <param name="Unsized">Counted particles with no size (no instrument ECD and no calibration to measure one).</param>
/// <param name="AnalysedVolumeMl">The sample volume analysed over all runs; null when any run's is unknown.</param>
/// <param name="ContainerVolumeMl">The fill volume of one container; null when unknown.</param>
/// <param name="Runs">The lot's runs.</param>
/// <param name="RunsInProgress">Of those, the ones not completed yet.</param>
/// <param name="Unknown">Particles unlike anything the models learned (their out-of-scope score past its threshold), not reviewed since.</param>
/// <param name="RunsInShiftAlarm">Of the runs, those whose images are unlike their model set's training data (an active
/// domain-shift alarm, <see cref="DomainShift"/>).</param>
public sealed record LotFacts(
    int ParticleImages,
    int Failed,
    int SizedAtOrAbove10,
    int SizedAtOrAbove25,
    int Unsized,
    double? AnalysedVolumeMl,
    double? ContainerVolumeMl,
    int Runs,
    int RunsInProgress,
    int Unknown = 0,
    int RunsInShiftAlarm = 0);

/// <summary>
/// The site's settings for the verdict (appsettings <c>ParticleGrid:Verdict:...</c>, <c>PARTICLEGRID__VERDICT__...</c>).
/// The defaults keep the demo's two lots as they are (LOT-A passes, LOT-B fails): neither has a failed particle.
/// </summary>
public sealed class VerdictPolicy
{
    /// <summary>
    /// The largest share (0..1) of a lot's particle images that may fail classification before the lot is not assessable.
    /// Failed particles are counted as particles (conservative), but what they are is unknown; 1 % keeps that doubt small.
    /// </summary>
    public double MaxFailedShare { get; set; } = 0.01;

    /// <summary>
    /// The largest share (0..1) of a lot's particle images the models may call "unknown" before the lot is not
    /// assessable. Unknown particles are counted as particles, so the limits see them; what they are is for a reviewer.
    /// 15 %: the out-of-scope threshold is set to keep 95 % of in-scope validation images, and in-scope test sets kept
    /// 92.5 % once the image's appearance joined the score (docs/validation.md), so a lot of in-scope particles shows
    /// 5-8 % by chance (the demo's in-scope lot: 8 %); about twice that says the lot holds something else.
    /// </summary>
    public double MaxUnknownShare { get; set; } = 0.15;

    /// <summary>When a run's images count as unlike its model set's training data (<c>ParticleGrid:Verdict:DomainShift:...</c>).</summary>
    public DomainShiftPolicy DomainShift { get; set; } = new();

    /// <summary>Says what is wrong, so a host refuses to start with one clear line.</summary>
    public void Validate()
    {
        var check = new SettingsCheck("verdict");
        check.Require(MaxFailedShare is >= 0 and <= 1, nameof(MaxFailedShare), MaxFailedShare, "must be a share between 0 and 1 (0.01 is 1 %)");
        check.Require(MaxUnknownShare is >= 0 and <= 1, nameof(MaxUnknownShare), MaxUnknownShare, "must be a share between 0 and 1 (0.1 is 10 %)");
        ArgumentNullException.ThrowIfNull(DomainShift);
        DomainShift.Validate();
    }
}

/// <summary>
/// The particle limits of ChP 2020 &lt;0903&gt; and USP &lt;788&gt; (light obscuration) for parenterals, as DOMAIN.md gives them:
/// small-volume parenterals (at most 100 mL) at most 6000 particles &gt;= 10 um and 600 &gt;= 25 um per container;
/// larger containers at most 25 per mL &gt;= 10 um and 3 per mL &gt;= 25 um.
/// FIM counts are compared as light obscuration would see them: every particle except air bubbles (artefacts).
/// The product never says more than its data supports: see docs/validation.md, "Lot verdicts".
/// </summary>
public static class CompendialLimits
{
    public const double SmallVolumeParenteralMaxMl = 100;
    public const string Basis = "ChP 2020 <0903> / USP <788>";

    /// <summary>What the unsized-particle reasons tell the user to do.</summary>
    public const string GiveSizes = "give --um-per-pixel (the instrument's calibration) or the instrument's sizes, and ingest the runs again";

    /// <summary>
    /// Judges a lot. Fail when its sized particles alone exceed a limit (what is known already fails it, whatever is
    /// missing); otherwise NotAssessable when anything the verdict needs is missing or doubtful, including unsized
    /// particles that, all placed at &gt;= 25 um, would exceed a limit; otherwise Pass.
    /// </summary>
    public static CompendialVerdict Judge(LotFacts facts, VerdictPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(policy);
        var checks = Checks(facts, out string basis);
        var missing = NotAssessableReasons(facts, policy, checks);

        if (checks.Any(c => !c.Passes))
        {
            // A lot that fails on what is known is Fail: unsized particles and particles of runs still arriving can only add
            // to the counts of sized particles, never lower them (failed particles are counted too). What is missing is listed.
            IReadOnlyList<string> reasons = missing.Count == 0 ? [] :
                ["the lot exceeds a limit on its sized particles alone, so it fails on what is known; this does not change it:", .. missing];
            return new CompendialVerdict(VerdictOutcome.Fail, basis, checks, reasons);
        }
        if (missing.Count > 0) return new CompendialVerdict(VerdictOutcome.NotAssessable, basis, checks, missing);

        var notes = new List<string>();
        if (facts.Unsized > 0)
        {
            notes.Add(Invariant($"{Particles(facts.Unsized)} had no size; even with every one of them at >= 25 um the lot is within both limits"));
        }
        if (facts.Failed > 0)
        {
            notes.Add(Invariant($"{facts.Failed} particle image(s) could not be classified ({Percent(FailedShare(facts))}, within the {Percent(policy.MaxFailedShare)} allowed); they are counted as particles"));
        }
        return new CompendialVerdict(VerdictOutcome.Pass, basis, checks, notes);
    }

    /// <summary>
    /// Every reason the lot cannot pass on its data, in a fixed order; empty when nothing is missing. Each rule stands
    /// alone, so all that apply are listed and the user can fix them in one go.
    /// </summary>
    public static IReadOnlyList<string> NotAssessableReasons(LotFacts facts, VerdictPolicy policy, IReadOnlyList<LimitCheck> checks)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(checks);
        var reasons = new List<string>();
        if (facts.Runs == 0)
        {
            reasons.Add("no run of this lot has been recorded, so there is no analysed volume and no counts per mL");
        }
        else if (facts.AnalysedVolumeMl is null)
        {
            reasons.Add("no analysed volume is known (a run was started without one), so there are no counts per mL: give each run's analysed volume (--volume-ml)");
        }
        if (facts.ContainerVolumeMl is null)
        {
            reasons.Add("the container volume is unknown; the limits are per container (or per mL above 100 mL): give the lot's container volume (--container-ml)");
        }
        if (facts.RunsInProgress > 0)
        {
            reasons.Add(Invariant($"{facts.RunsInProgress} of {facts.Runs} run(s) still in progress (not completed), so the counts are not final: complete the run(s)"));
        }
        if (FailedShare(facts) > policy.MaxFailedShare)
        {
            reasons.Add(Invariant($"{facts.Failed} of {facts.ParticleImages} particle images ({Percent(FailedShare(facts))}) could not be classified, more than the {Percent(policy.MaxFailedShare)} allowed (ParticleGrid:Verdict:MaxFailedShare): classify them again"));
        }
        if (facts.Unsized > 0 && (checks.Count == 0 || checks.Any(c => !c.WorstCasePasses)))
        {
            string effect = checks.Count == 0
                ? "they could put the lot over a limit"
                : "with every one of them at >= 25 um the lot would exceed " + string.Join(" and ", checks.Where(c => !c.WorstCasePasses)
                    .Select(c => Invariant($"the >= {c.SizeMicrometres} um limit ({c.WorstCase:0.#} > {c.Limit:0} {c.Unit})")));
            reasons.Add(Invariant($"{Particles(facts.Unsized)} {(facts.Unsized == 1 ? "has" : "have")} no size (no instrument size and no calibration); {effect}: {GiveSizes}"));
        }
        if (UnknownShare(facts) > policy.MaxUnknownShare)
        {
            reasons.Add(Invariant($"{facts.Unknown} of {facts.ParticleImages} particle images ({Percent(UnknownShare(facts))}) are unlike anything the models learned (\"unknown\"), more than the {Percent(policy.MaxUnknownShare)} allowed (ParticleGrid:Verdict:MaxUnknownShare): review them"));
        }
        // The counts may be right and still mean nothing: the models were never shown images like these, so their types
        // (and the unknown share above) are not validated. A Fail on sized particles still stands: sizes come from the
        // instrument or the image's mask, not from the models.
        if (facts.RunsInShiftAlarm > 0)
        {
            reasons.Add(Invariant($"{facts.RunsInShiftAlarm} of {facts.Runs} run(s): {DomainShift.Message}; see the runs' domain-shift checks"));
        }
        return reasons;
    }

    /// <summary>The limits that apply and the lot's values against them; none when a volume is unknown.</summary>
    private static IReadOnlyList<LimitCheck> Checks(LotFacts facts, out string basis)
    {
        basis = Basis;
        if (facts.AnalysedVolumeMl is not { } analysed || facts.ContainerVolumeMl is not { } volume) return [];

        // Worst case: every unsized counted particle is at >= 25 um, so it is in both size classes.
        double PerMl(int count) => count / analysed;
        bool small = volume <= SmallVolumeParenteralMaxMl;
        double scale = small ? volume : 1;
        string unit = small ? "per container" : "per mL";
        basis = small
            ? Invariant($"{Basis}, small-volume parenteral ({volume:0.###} mL container): limits per container")
            : Invariant($"{Basis}, large-volume parenteral ({volume:0.###} mL container): limits per mL");
        return
        [
            Check(10, small ? 6000 : 25, unit, PerMl(facts.SizedAtOrAbove10) * scale, PerMl(facts.SizedAtOrAbove10 + facts.Unsized) * scale),
            Check(25, small ? 600 : 3, unit, PerMl(facts.SizedAtOrAbove25) * scale, PerMl(facts.SizedAtOrAbove25 + facts.Unsized) * scale),
        ];
    }

    private static LimitCheck Check(double size, double limit, string unit, double measured, double worstCase) =>
        new(size, limit, unit, measured, measured <= limit, worstCase, worstCase <= limit);

    private static double FailedShare(LotFacts facts) => facts.ParticleImages == 0 ? 0 : (double)facts.Failed / facts.ParticleImages;

    private static double UnknownShare(LotFacts facts) => facts.ParticleImages == 0 ? 0 : (double)facts.Unknown / facts.ParticleImages;

    private static string Percent(double share) => (share * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    private static string Particles(int count) => count == 1 ? "1 counted particle" : Invariant($"{count} counted particles");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
