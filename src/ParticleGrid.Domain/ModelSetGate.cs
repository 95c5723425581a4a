using System.Globalization;
using ParticleGrid.Domain.Confidence;

namespace ParticleGrid.Domain;

/// <summary>
/// When a new model set may replace the active one (ParticleGrid:Gate:..., PARTICLEGRID__GATE__...). Both sets are
/// judged on the site's reviewed particles, whose reviewed labels are the ground truth; see docs/validation.md,
/// "The gate before a model set goes live".
/// </summary>
public sealed class ModelGatePolicy
{
    /// <summary>
    /// How much worse (0..1) the new set may be in accuracy, unknown rate (higher is worse) and ECE (higher is worse)
    /// before activation is refused. 0.02: two particles in a hundred, about what a retrained network moves by chance.
    /// </summary>
    public double Margin { get; set; } = 0.02;

    /// <summary>
    /// How much lower any one class's recall may be. Wider than <see cref="Margin"/> because a class is judged on
    /// fewer particles: with 20 reviewed per class one particle is 0.05, so 0.05 lets one particle go, not two.
    /// </summary>
    public double RecallMargin { get; set; } = 0.05;

    /// <summary>Fewer reviewed particles than this in any class of the new set and the gate cannot tell: refused.</summary>
    public int MinReviewedPerClass { get; set; } = 20;

    /// <summary>
    /// At most this many reviewed particles per class are evaluated, so memory and the time the workers spend stay
    /// bounded on a site with years of reviews; 500 puts a recall's standard error near 0.02 at worst.
    /// </summary>
    public int MaxReviewedPerClass { get; set; } = 500;

    /// <summary>Says what is wrong, so a host refuses to start with one clear line.</summary>
    public void Validate()
    {
        var check = new SettingsCheck("gate");
        check.Require(Margin is >= 0 and <= 1, nameof(Margin), Margin, "must be between 0 and 1 (0.02 is 2 points of accuracy)");
        check.Require(RecallMargin is >= 0 and <= 1, nameof(RecallMargin), RecallMargin, "must be between 0 and 1");
        check.Require(MinReviewedPerClass >= 1, nameof(MinReviewedPerClass), MinReviewedPerClass, "must be at least 1");
        check.Require(MaxReviewedPerClass >= MinReviewedPerClass, nameof(MaxReviewedPerClass), MaxReviewedPerClass,
            $"must be at least MinReviewedPerClass ({MinReviewedPerClass})");
    }
}

/// <summary>What one model set said about one reviewed particle.</summary>
/// <param name="PredictedClass">The ensemble's vote, an index into the set's classes.</param>
/// <param name="Probabilities">The ensemble's combined calibrated probabilities, in the set's class order.</param>
/// <param name="IsUnknown">The set called it out of scope ("unknown"): never a correct answer for a reviewed type.</param>
public sealed record GatedAnswer(int PredictedClass, IReadOnlyList<float> Probabilities, bool IsUnknown);

/// <summary>A reviewed particle with both sets' answers.</summary>
/// <param name="ReviewedLabel">The reviewer's label (folder name): the ground truth.</param>
public sealed record GatedParticle(string ReviewedLabel, GatedAnswer Active, GatedAnswer Candidate);

/// <summary>One set's figures on the reviewed particles.</summary>
/// <param name="Recall">Per class with reviewed particles: the share of them the set named correctly (unknown is wrong).</param>
/// <param name="Ece">Expected calibration error of its probabilities, 15 bins (<see cref="CalibrationError"/>).</param>
public sealed record SetScores(double Accuracy, IReadOnlyDictionary<string, double> Recall, double UnknownRate, double Ece);

public enum GateDecision
{
    /// <summary>Not worse by more than the margins, on enough reviewed particles.</summary>
    Accept,

    /// <summary>Worse than the active set by more than a margin in at least one figure.</summary>
    RefuseWorse,

    /// <summary>Too few reviewed particles in some class to tell whether it is worse.</summary>
    RefuseTooFewReviewed,

    /// <summary>No set is active yet: nothing to compare with, so not gated.</summary>
    FirstSet,
}

/// <summary>A figure in which the new set is worse than the active one by more than its margin.</summary>
/// <param name="Metric">"accuracy", "recall protein", "unknown rate" or "ECE".</param>
/// <param name="Worse">How much worse (positive), whichever way the figure counts.</param>
public sealed record GateFinding(string Metric, double Active, double Candidate, double Worse, double Margin);

/// <summary>
/// The new set beside the active one on the same reviewed particles, and whether it may go live. Pure: the workers
/// give each set's answers, this decides.
/// </summary>
/// <param name="Support">Reviewed particles evaluated per class of the new set.</param>
/// <param name="TooFewReviewed">Classes with fewer than <paramref name="MinReviewedPerClass"/> reviewed particles.</param>
public sealed record ModelSetComparison(
    string? ActiveVersion,
    string CandidateVersion,
    int Evaluated,
    IReadOnlyDictionary<string, int> Support,
    SetScores? Active,
    SetScores? Candidate,
    GateDecision Decision,
    IReadOnlyList<GateFinding> Worse,
    IReadOnlyList<string> TooFewReviewed,
    int MinReviewedPerClass,
    string Summary)
{
    public bool Accepted => Decision is GateDecision.Accept or GateDecision.FirstSet;

    /// <summary>The first set of a site: there is nothing to compare it with, and refusing it would leave the site unable to classify.</summary>
    public static ModelSetComparison FirstSet(string candidateVersion) =>
        new(null, candidateVersion, 0, new Dictionary<string, int>(), null, null, GateDecision.FirstSet, [], [], 0,
            $"first set {candidateVersion}: no set was active, nothing to compare with, not gated");

    /// <summary>Scores both sets on the reviewed particles and decides.</summary>
    /// <param name="activeClasses">The active set's classes, in its order (a reviewed label it lacks counts as wrong for it).</param>
    /// <param name="candidateClasses">The new set's classes: the classes the gate needs reviewed particles of.</param>
    /// <param name="particles">Reviewed particles whose label is one of <paramref name="candidateClasses"/>.</param>
    public static ModelSetComparison Compare(string activeVersion, IReadOnlyList<string> activeClasses, string candidateVersion,
        IReadOnlyList<string> candidateClasses, IReadOnlyList<GatedParticle> particles, ModelGatePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(particles);
        ArgumentNullException.ThrowIfNull(policy);
        var outside = particles.FirstOrDefault(p => !candidateClasses.Contains(p.ReviewedLabel));
        if (outside is not null)
            throw new ArgumentException($"reviewed label '{outside.ReviewedLabel}' is not a class of {candidateVersion}; leave such particles out", nameof(particles));

        var support = candidateClasses.ToDictionary(c => c, c => particles.Count(p => p.ReviewedLabel == c));
        var tooFew = candidateClasses.Where(c => support[c] < policy.MinReviewedPerClass).ToList();
        SetScores? active = particles.Count == 0 ? null : Score(particles, activeClasses, p => p.Active);
        SetScores? candidate = particles.Count == 0 ? null : Score(particles, candidateClasses, p => p.Candidate);

        var worse = new List<GateFinding>();
        if (active is not null && candidate is not null)
        {
            void Check(string metric, double before, double after, double worseBy, double margin)
            {
                // A little slack for floating point: "by more than the margin", not "by the margin".
                if (worseBy > margin + 1e-9) worse.Add(new GateFinding(metric, before, after, worseBy, margin));
            }
            Check("accuracy", active.Accuracy, candidate.Accuracy, active.Accuracy - candidate.Accuracy, policy.Margin);
            foreach (var c in candidateClasses.Where(candidate.Recall.ContainsKey))
            {
                double before = active.Recall.GetValueOrDefault(c);
                Check($"recall {c}", before, candidate.Recall[c], before - candidate.Recall[c], policy.RecallMargin);
            }
            Check("unknown rate", active.UnknownRate, candidate.UnknownRate, candidate.UnknownRate - active.UnknownRate, policy.Margin);
            Check("ECE", active.Ece, candidate.Ece, candidate.Ece - active.Ece, policy.Margin);
        }

        // Too few reviewed comes first: with too little data a "not worse" means nothing, and a "worse" may be chance.
        var decision = tooFew.Count > 0 ? GateDecision.RefuseTooFewReviewed : worse.Count > 0 ? GateDecision.RefuseWorse : GateDecision.Accept;
        string summary = decision switch
        {
            GateDecision.RefuseTooFewReviewed =>
                $"refused: too few reviewed particles to tell ({string.Join(", ", tooFew.Select(c => $"{c} {support[c]}"))}; at least {policy.MinReviewedPerClass} per class)",
            GateDecision.RefuseWorse =>
                $"refused: {candidateVersion} is worse than {activeVersion} on {particles.Count} reviewed particles: " +
                string.Join("; ", worse.Select(w => $"{w.Metric} {F(w.Active)} -> {F(w.Candidate)} (worse by {F(w.Worse)}, margin {F(w.Margin)})")),
            _ => $"accepted: on {particles.Count} reviewed particles accuracy {F(active!.Accuracy)} -> {F(candidate!.Accuracy)}, " +
                 $"unknown rate {F(active.UnknownRate)} -> {F(candidate.UnknownRate)}, ECE {F(active.Ece)} -> {F(candidate.Ece)}",
        };
        return new ModelSetComparison(activeVersion, candidateVersion, particles.Count, support, active, candidate, decision, worse, tooFew,
            policy.MinReviewedPerClass, summary);
    }

    private static string F(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);

    private static SetScores Score(IReadOnlyList<GatedParticle> particles, IReadOnlyList<string> classes, Func<GatedParticle, GatedAnswer> answerOf)
    {
        // A label the set does not know gets index -1: never predicted, so always wrong for that set.
        int IndexOf(string label) => classes.ToList().IndexOf(label);
        bool Correct(GatedParticle p) => answerOf(p) is { IsUnknown: false } a && a.PredictedClass == IndexOf(p.ReviewedLabel);

        double accuracy = (double)particles.Count(Correct) / particles.Count;
        var recall = particles.GroupBy(p => p.ReviewedLabel)
            .ToDictionary(g => g.Key, g => (double)g.Count(Correct) / g.Count());
        double unknownRate = (double)particles.Count(p => answerOf(p).IsUnknown) / particles.Count;
        double ece = CalibrationError.Of([.. particles.Select(p => answerOf(p).Probabilities)], [.. particles.Select(p => IndexOf(p.ReviewedLabel))]).Value;
        return new SetScores(accuracy, recall, unknownRate, ece);
    }
}
