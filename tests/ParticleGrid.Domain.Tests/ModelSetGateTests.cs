using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

/// <summary>
/// The gate before a model set goes live, on made-up answers: two classes, reviewed labels the ground truth, a
/// margin of 0.02 (0.05 for one class's recall) and at least 20 reviewed particles per class.
/// </summary>
public class ModelSetGateTests
{
    static readonly string[] Classes = ["glass", "protein"];
    static readonly ModelGatePolicy Defaults = new();

    /// <summary>A confident answer: the named class at <paramref name="p"/>.</summary>
    static GatedAnswer Says(string type, float p = 0.9f, bool unknown = false)
    {
        int index = Array.IndexOf(Classes, type);
        return new GatedAnswer(index, index == 0 ? [p, 1 - p] : [1 - p, p], unknown);
    }

    static GatedParticle Reviewed(string label, GatedAnswer active, GatedAnswer candidate) => new(label, active, candidate);

    /// <summary><paramref name="perClass"/> particles of each class, both sets right (0.9 sure) unless told otherwise.</summary>
    static List<GatedParticle> Both(int perClass, Func<string, int, GatedAnswer>? candidate = null) =>
        [.. Classes.SelectMany(c => Enumerable.Range(0, perClass).Select(i => Reviewed(c, Says(c), candidate?.Invoke(c, i) ?? Says(c))))];

    static ModelSetComparison Compare(IReadOnlyList<GatedParticle> particles, ModelGatePolicy? policy = null) =>
        ModelSetComparison.Compare("set-active", Classes, "set-new", Classes, particles, policy ?? Defaults);

    [Fact]
    public void An_equally_good_set_on_enough_reviewed_particles_is_accepted_with_its_figures()
    {
        var comparison = Compare(Both(20));

        Assert.Equal(GateDecision.Accept, comparison.Decision);
        Assert.True(comparison.Accepted);
        Assert.Equal(40, comparison.Evaluated);
        Assert.Equal(20, comparison.Support["glass"]);
        Assert.Equal(1.0, comparison.Candidate!.Accuracy);
        Assert.Equal(1.0, comparison.Candidate.Recall["protein"]);
        Assert.Equal(0.0, comparison.Candidate.UnknownRate);
        Assert.Equal(0.1, comparison.Candidate.Ece, 6);   // 0.9 sure and always right
        Assert.Empty(comparison.Worse);
        Assert.StartsWith("accepted", comparison.Summary);
    }

    [Fact]
    public void A_set_that_calls_everything_unknown_is_refused_and_says_which_figures_by_how_much()
    {
        var comparison = Compare(Both(20, (c, _) => Says(c, unknown: true)));

        Assert.Equal(GateDecision.RefuseWorse, comparison.Decision);
        Assert.False(comparison.Accepted);
        var accuracy = Assert.Single(comparison.Worse, w => w.Metric == "accuracy");
        Assert.Equal((1.0, 0.0, 1.0, 0.02), (accuracy.Active, accuracy.Candidate, accuracy.Worse, accuracy.Margin));
        Assert.Contains(comparison.Worse, w => w.Metric == "recall glass" && w.Margin == 0.05);
        Assert.Contains(comparison.Worse, w => w.Metric == "unknown rate" && w.Worse == 1.0);
        Assert.Contains("accuracy 1.000 -> 0.000 (worse by 1.000, margin 0.020)", comparison.Summary);
    }

    [Fact]
    public void Worse_within_the_margin_passes_and_past_it_is_refused()
    {
        // 100 per class: one wrong glass particle is 0.005 accuracy and 0.01 recall, within the margins; six are
        // 0.03 accuracy, past 0.02.
        var one = Compare(Both(100, (c, i) => c == "glass" && i < 1 ? Says("protein") : Says(c)));
        var six = Compare(Both(100, (c, i) => c == "glass" && i < 6 ? Says("protein") : Says(c)));

        Assert.Equal(GateDecision.Accept, one.Decision);
        Assert.Equal(GateDecision.RefuseWorse, six.Decision);
        Assert.Equal(0.03, Assert.Single(six.Worse, w => w.Metric == "accuracy").Worse, 6);
        Assert.Equal(0.06, Assert.Single(six.Worse, w => w.Metric == "recall glass").Worse, 6);
    }

    [Fact]
    public void One_class_losing_recall_is_refused_even_when_accuracy_holds()
    {
        // 20 glass wrong out of 200 glass but 10 protein gained out of 1000: accuracy barely moves, glass recall drops 0.10.
        var particles = new List<GatedParticle>();
        particles.AddRange(Enumerable.Range(0, 200).Select(i => Reviewed("glass", Says("glass"), i < 20 ? Says("protein") : Says("glass"))));
        particles.AddRange(Enumerable.Range(0, 1000).Select(i => Reviewed("protein", i < 20 ? Says("glass") : Says("protein"), Says("protein"))));

        var comparison = Compare(particles);

        Assert.Equal(GateDecision.RefuseWorse, comparison.Decision);
        Assert.Equal("recall glass", Assert.Single(comparison.Worse).Metric);
    }

    [Fact]
    public void A_worse_calibrated_set_is_refused_on_ece()
    {
        // Always right, but 0.55 sure instead of 0.9: ECE 0.45 against 0.1.
        var comparison = Compare(Both(20, (c, _) => Says(c, 0.55f)));

        Assert.Equal("ECE", Assert.Single(comparison.Worse).Metric);
    }

    [Fact]
    public void Too_few_reviewed_particles_in_a_class_refuses_whatever_the_figures_and_names_the_class()
    {
        var particles = Both(20).Where(p => p.ReviewedLabel == "glass").Concat(Both(19).Where(p => p.ReviewedLabel == "protein")).ToList();

        var comparison = Compare(particles);

        Assert.Equal(GateDecision.RefuseTooFewReviewed, comparison.Decision);
        Assert.Equal(["protein"], comparison.TooFewReviewed);
        Assert.Equal(19, comparison.Support["protein"]);
        Assert.Contains("protein 19", comparison.Summary);
        Assert.Contains("at least 20 per class", comparison.Summary);
    }

    [Fact]
    public void No_reviewed_particles_at_all_is_too_few_and_has_no_figures()
    {
        var comparison = Compare([]);

        Assert.Equal(GateDecision.RefuseTooFewReviewed, comparison.Decision);
        Assert.Equal(Classes, comparison.TooFewReviewed);
        Assert.Null(comparison.Candidate);
    }

    [Fact]
    public void A_label_the_active_set_does_not_know_counts_against_it_not_the_new_set()
    {
        // The active set knows only glass; the new one adds protein and names it.
        var particles = Both(20);
        var comparison = ModelSetComparison.Compare("set-active", ["glass"], "set-new", Classes,
            [.. particles.Select(p => p with { Active = new GatedAnswer(0, [1f], false) })], Defaults);

        Assert.Equal(GateDecision.Accept, comparison.Decision);
        Assert.Equal(0.5, comparison.Active!.Accuracy);
        Assert.Equal(1.0, comparison.Candidate!.Accuracy);
    }

    [Fact]
    public void The_first_set_of_a_site_is_not_gated_and_says_so()
    {
        var first = ModelSetComparison.FirstSet("set-1");

        Assert.Equal(GateDecision.FirstSet, first.Decision);
        Assert.True(first.Accepted);
        Assert.Contains("not gated", first.Summary);
    }

    [Fact]
    public void A_policy_with_a_minimum_above_its_cap_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new ModelGatePolicy { MinReviewedPerClass = 50, MaxReviewedPerClass = 10 }.Validate());
        Assert.Throws<ArgumentException>(() => new ModelGatePolicy { Margin = -0.1 }.Validate());
        new ModelGatePolicy().Validate();
    }
}
