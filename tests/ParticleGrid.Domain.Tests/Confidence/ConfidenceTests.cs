using ParticleGrid.Domain.Confidence;

namespace ParticleGrid.Domain.Tests.Confidence;

/// <summary>Temperature scaling, calibration error, the out-of-scope reference and its separation metrics, on made-up data.</summary>
public sealed class ConfidenceTests
{
    /// <summary>Logits drawn so that softmax(logits / 2.5) is the true class distribution: the fit must find T near 2.5.</summary>
    [Fact]
    public void Temperature_scaling_recovers_the_temperature_that_generated_the_labels()
    {
        var random = new Random(5);
        var logits = new List<float[]>();
        var labels = new List<int>();
        for (int n = 0; n < 4000; n++)
        {
            var row = Enumerable.Range(0, 4).Select(_ => (float)(random.NextDouble() * 12 - 6)).ToArray();
            var truth = TemperatureScaling.Softmax(row, 2.5);
            double u = random.NextDouble(), cumulative = 0;
            int label = 3;
            for (int c = 0; c < 4; c++) { cumulative += truth[c]; if (u < cumulative) { label = c; break; } }
            logits.Add(row);
            labels.Add(label);
        }

        double fitted = TemperatureScaling.Fit(logits, labels);

        Assert.InRange(fitted, 2.3, 2.7);
        Assert.True(TemperatureScaling.NegativeLogLikelihood(logits, labels, fitted) < TemperatureScaling.NegativeLogLikelihood(logits, labels, 1));
    }

    [Fact]
    public void Temperature_changes_confidence_never_the_winner()
    {
        float[] logits = [2f, -1f, 0.5f, 1.9f];
        foreach (double t in new[] { 0.2, 1, 3, 15 })
        {
            var p = TemperatureScaling.Softmax(logits, t);
            Assert.Equal(0, ClassificationReport.ArgMax(p));
            Assert.Equal(1, p.Sum(), 5);
        }
        Assert.True(TemperatureScaling.Softmax(logits, 3)[0] < TemperatureScaling.Softmax(logits, 1)[0]);
    }

    [Fact]
    public void Calibration_error_is_the_weighted_gap_between_confidence_and_accuracy()
    {
        // Ten predictions at 0.95 (bin 15), eight right: gap 0.15. Ten at 0.55 (bin 9), five right: gap 0.05.
        var rows = new List<IReadOnlyList<float>>();
        var labels = new List<int>();
        for (int i = 0; i < 10; i++) { rows.Add([0.95f, 0.05f]); labels.Add(i < 8 ? 0 : 1); }
        for (int i = 0; i < 10; i++) { rows.Add([0.55f, 0.45f]); labels.Add(i < 5 ? 0 : 1); }

        var error = CalibrationError.Of(rows, labels);

        Assert.Equal(0.5 * 0.15 + 0.5 * 0.05, error.Value, 6);
        Assert.Equal(15, error.Bins.Count);
        Assert.Equal(10, error.Bins[14].Count);
        Assert.Equal(0.8, error.Bins[14].Accuracy, 6);
        Assert.Equal(10, error.Bins[8].Count);
    }

    [Fact]
    public void Auroc_counts_how_often_an_out_of_scope_score_is_above_an_in_scope_one()
    {
        Assert.Equal(1, OutOfScopeSeparation.Auroc([1, 2, 3], [4, 5]));
        Assert.Equal(0, OutOfScopeSeparation.Auroc([4, 5], [1, 2, 3]));
        Assert.Equal(0.5, OutOfScopeSeparation.Auroc([1, 1], [1, 1]));
        Assert.Equal(5.0 / 6, OutOfScopeSeparation.Auroc([1, 2, 4], [3, 5]), 9); // pairs above: 2 + 3 of 6

        var separation = OutOfScopeSeparation.Of([0.2, 0.5, 1.2, 0.9], [0.8, 1.5, 3], threshold: 1);
        Assert.Equal(2.0 / 3, separation.FlaggedShare, 9);
        Assert.Equal(0.75, separation.KeptShare, 9);
    }

    [Fact]
    public void The_ensemble_is_unknown_when_its_networks_mean_ratio_reaches_the_threshold()
    {
        Assert.Null(OutOfScopeVote.Combine([null, null]));
        Assert.Equal(1.1, OutOfScopeVote.Combine([0.5, null, 1.7])!.Value, 9);
        Assert.True(OutOfScopeVote.IsUnknown(1.0));
        Assert.False(OutOfScopeVote.IsUnknown(0.99));
        Assert.False(OutOfScopeVote.IsUnknown(null));
    }

    /// <summary>Two classes in 3-D features, one principal direction: near a centre scores low, far off scores high.</summary>
    [Fact]
    public void A_feature_reference_scores_in_scope_features_low_and_foreign_ones_high_and_survives_its_bytes()
    {
        var reference = new FeatureReference(
            mean: [0, 0, 0],
            components: [1, 0, 0],              // the x axis
            centres: [-2, 2],                   // class 0 at x = -2, class 1 at x = +2
            precision: [1],                     // unit variance along x
            residualVariance: 0.25);            // y and z vary little

        Assert.Equal(0, reference.Score([2, 0, 0]), 9);
        Assert.Equal(1, reference.Score([-3, 0, 0]), 6);        // one standard deviation from class 0
        Assert.Equal(4, reference.Score([2, 1, 0]), 6);          // on class 1 along x, 1 off it in y: 1 / 0.25
        Assert.True(reference.Score([0, 3, 3]) > 50);

        var copy = FeatureReference.FromBytes(reference.ToBytes());
        Assert.Equal(reference.Score([1.5f, 0.2f, -0.1f]), copy.Score([1.5f, 0.2f, -0.1f]), 9);
        Assert.Equal(reference.Sha256(), copy.Sha256());
        Assert.Throws<InvalidDataException>(() => FeatureReference.FromBytes([.. reference.ToBytes().Take(30)]));
        Assert.Throws<ArgumentException>(() => reference.Score([1, 2]));
    }

    /// <summary>
    /// Two stages, each standardised on its own in-scope validation distances: an image as far as the validation images
    /// typically are scores about exp(0) = 1 whatever each stage's scale, one far off at either stage scores high.
    /// </summary>
    [Fact]
    public void An_out_of_scope_reference_weighs_every_stage_on_its_own_in_scope_spread_and_survives_its_bytes()
    {
        static FeatureReference Line(float scale) => new(mean: [0, 0], components: [1, 0], centres: [0], precision: [1 / (scale * scale)],
            residualVariance: 0.25 * scale * scale);
        var early = Line(1);     // stage 1: features [0..2)
        var late = Line(100);    // stage 2: features [2..4), a hundred times the scale
        float[][] validation = [[1, 0, 100, 0], [2, 0, 200, 0], [0.5f, 0.25f, 50, 25], [1.5f, 0, 150, 0]];
        var reference = OutOfScopeReference.Standardise([early, late], validation);

        Assert.Equal(4, reference.FeatureDimensions);
        Assert.Equal(new[] { 2, 2 }, reference.Stages.Select(s => s.Width));
        double typical = Math.Exp(validation.Average(f => Math.Log(reference.Score(f))));
        Assert.Equal(1, typical, 6);                          // standardised: the validation images' mean log score is 0
        Assert.True(reference.Score([1, 0, 100, 0]) < 2);
        Assert.True(reference.Score([1, 5, 100, 0]) > 5);     // far off in the early stage alone
        Assert.True(reference.Score([1, 0, 100, 500]) > 5);   // far off in the late stage alone, whatever its scale

        var copy = OutOfScopeReference.FromBytes(reference.ToBytes());
        Assert.Equal(reference.Score([1.2f, 0.1f, 90, 10]), copy.Score([1.2f, 0.1f, 90, 10]), 9);
        Assert.Equal(reference.Sha256(), copy.Sha256());
        Assert.Throws<InvalidDataException>(() => OutOfScopeReference.FromBytes([.. reference.ToBytes().SkipLast(1)]));
        Assert.Throws<InvalidDataException>(() => OutOfScopeReference.FromBytes([.. reference.ToBytes(), 0]));
        var layoutOne = Assert.Throws<InvalidDataException>(() => OutOfScopeReference.FromBytes(early.ToBytes()));
        Assert.Contains("particlegrid refit", layoutOne.Message);
        Assert.Throws<ArgumentException>(() => reference.Score([1, 2]));
    }
}

/// <summary>"Unknown" particles in lot verdicts and traceability.</summary>
public sealed class UnknownParticleTests
{
    static LotFacts Facts(int images, int unknown) => new(images, 0, 10, 2, 0, 1.0, 1.0, 1, 0, unknown);

    [Fact]
    public void A_lot_with_more_unknown_particles_than_allowed_is_not_assessable_and_says_so()
    {
        var policy = new VerdictPolicy(); // 15 %
        Assert.Equal(VerdictOutcome.Pass, CompendialLimits.Judge(Facts(100, 15), policy).Outcome);
        var verdict = CompendialLimits.Judge(Facts(100, 16), policy);
        Assert.Equal(VerdictOutcome.NotAssessable, verdict.Outcome);
        Assert.Contains(verdict.Reasons, r => r.Contains("16 of 100") && r.Contains("MaxUnknownShare") && r.Contains("review them"));
        Assert.Throws<ArgumentException>(() => new VerdictPolicy { MaxUnknownShare = 1.5 }.Validate());
    }

    [Fact]
    public void Unknown_is_a_type_of_its_own_counted_as_a_particle_and_pointing_to_review()
    {
        Assert.True(ParticleTypes.TryParse("unknown", out var type));
        Assert.Equal(ParticleType.Unknown, type);
        var profile = LotProfiles.Compute("L", 1,
            [new CountedParticle(ParticleType.Unknown, 30, true), new CountedParticle(ParticleType.Protein, 12, false)], 1.0, 1.0);
        var unknown = Assert.Single(profile.Types, t => t.Type == "unknown");
        Assert.True(unknown.CountsAsParticle);
        Assert.Equal(1, unknown.Count);
        Assert.Equal(2, profile.ParticlesExcludingBubbles.Count);
        Assert.Equal(1, Assert.Single(profile.Types, t => t.Type == "protein").Count);
        var (category, sources) = Traceability.Of("unknown");
        Assert.Equal(ParticleCategory.Unknown, category);
        Assert.Contains("review", sources[0]);
    }
}
