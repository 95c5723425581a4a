using System.Globalization;
using System.Text;

namespace ParticleGrid.Domain;

/// <summary>A lot profile as a plain-text table for terminals and logs.</summary>
public static class LotProfileReport
{
    public static string Format(LotProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(inv, $"Lot {profile.Lot}: {profile.Particles} particle images from {profile.Runs} run(s); " +
            $"analysed volume {Volume(profile.AnalysedVolumeMl)}, container {Volume(profile.ContainerVolumeMl)}");
        string inProgress = profile.RunsInProgress > 0 ? string.Create(inv, $"   runs in progress: {profile.RunsInProgress}") : "";
        text.AppendLine(inv, $"  uncertain (review): {profile.Uncertain}   reviewed: {profile.Reviewed}   failed: {profile.Failed}   without size: {profile.WithoutSize}{inProgress}");

        bool perContainer = profile.ContainerVolumeMl is not null && profile.AnalysedVolumeMl is not null;
        string unit = perContainer ? "per container" : profile.AnalysedVolumeMl is not null ? "per mL" : "count";
        var edges = SizeBins.LowerEdgesMicrometres;
        text.Append(inv, $"  {"type",-34}{"count",7}{"uncert.",8}");
        foreach (var edge in edges) text.Append(inv, $"{">=" + edge.ToString(inv) + " um",13}");
        text.AppendLine(inv, $"   ({unit} per size class)");

        void Row(TypeProfile row, string name)
        {
            text.Append(inv, $"  {name,-34}{row.Count,7}{row.Uncertain,8}");
            foreach (var size in row.SizeClasses)
            {
                double value = perContainer ? size.PerContainer!.Value : size.PerMl ?? size.Count;
                text.Append(inv, $"{value.ToString(value >= 100 || value == Math.Floor(value) ? "0" : "0.0", inv),13}");
            }
            text.AppendLine();
        }

        foreach (var type in profile.Types)
        {
            string name = ParticleTypes.TryParse(type.Type, out var parsed) ? ParticleTypes.DisplayName(parsed) : type.Type;
            Row(type, type.CountsAsParticle ? name : $"{name} (artefact, not counted)");
        }
        Row(profile.ParticlesExcludingBubbles, "all particles (bubbles excluded)");
        Row(profile.ParticlesExcludingBubblesAndSiliconeOil, "  of which not silicone oil");

        // The alarm goes above the verdict: it says the counts themselves are not validated.
        if (profile.DomainShiftAlarm is { } alarm)
        {
            text.AppendLine(inv, $"  DOMAIN SHIFT: {alarm}");
            foreach (var check in profile.DomainShift!.Where(c => c.Alarm)) text.AppendLine(inv, $"    run {check.RunId}: {check.Detail}");
        }

        var verdict = profile.Verdict;
        text.AppendLine(inv, $"  Verdict: {Outcome(verdict.Outcome)} ({verdict.Basis})");
        foreach (var check in verdict.Checks)
        {
            // With unsized particles the line shows both: the sized count, and the worst case with every unsized one at >= 25 um.
            string status = !check.Passes ? "EXCEEDED" : check.WorstCasePasses ? "ok" : "worst case EXCEEDED";
            string worst = check.WorstCase == check.Measured ? "" : $" sized, up to {check.WorstCase.ToString("0.#", inv)} with the unsized";
            text.AppendLine(inv, $"    >= {check.SizeMicrometres} um: {check.Measured:0.#} {check.Unit}{worst} (limit {check.Limit:0}) {status}");
        }
        foreach (var reason in verdict.Reasons) text.AppendLine(inv, $"    - {reason}");
        return text.ToString();
    }

    private static string Volume(double? ml) => ml is { } v ? v.ToString("0.###", CultureInfo.InvariantCulture) + " mL" : "unknown";

    private static string Outcome(VerdictOutcome outcome) => outcome switch
    {
        VerdictOutcome.Pass => "Pass",
        VerdictOutcome.Fail => "FAIL",
        _ => "NOT ASSESSABLE",
    };
}
