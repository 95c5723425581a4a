using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

public sealed class EnsembleVoterTests
{
    [Fact]
    public void Soft_vote_averages_the_probabilities()
    {
        var decision = new EnsembleVoter().Decide([[0.9f, 0.1f, 0f], [0.7f, 0.2f, 0.1f]]);

        Assert.Equal(0, decision.ClassIndex);
        Assert.Equal(0.8, decision.Probability, 6);
        Assert.Equal([0.8, 0.15, 0.05], decision.Probabilities.Select(p => Math.Round(p, 6)));
        Assert.True(decision.IsUncertain); // 0.8 < 0.90
        Assert.Equal(UncertainReason.BelowThreshold, decision.Reason);
        Assert.Equal([0, 0], decision.ModelVotes);
    }

    [Fact]
    public void Confident_when_all_agree_above_the_threshold()
    {
        var decision = new EnsembleVoter().Decide([[0.95f, 0.05f], [0.97f, 0.03f], [0.93f, 0.07f]]);
        Assert.False(decision.IsUncertain);
        Assert.Equal(UncertainReason.None, decision.Reason);
        Assert.Equal(0.95, decision.Probability, 6);
    }

    [Fact]
    public void Disagreement_is_uncertain_even_above_the_threshold()
    {
        // Mean for class 0 is 0.91, but the second model picks class 1.
        var decision = new EnsembleVoter(confidenceThreshold: 0.5).Decide([[1f, 0f], [0.45f, 0.55f]]);
        Assert.Equal(0, decision.ClassIndex);
        Assert.True(decision.IsUncertain);
        Assert.Equal(UncertainReason.Disagreement, decision.Reason);
        Assert.Equal([0, 1], decision.ModelVotes);
    }

    [Fact]
    public void A_single_model_never_disagrees()
    {
        var decision = new EnsembleVoter(confidenceThreshold: 0.5).Decide([[0.3f, 0.7f]]);
        Assert.Equal(1, decision.ClassIndex);
        Assert.False(decision.IsUncertain);
    }

    [Fact]
    public void Weighted_vote_follows_the_heavier_model()
    {
        // Soft would pick class 0 (mean 0.55 vs 0.45); weights 1 and 3 give class 1: (0.9*1 + 0.3*3)/4 = 0.45 vs 0.55.
        IReadOnlyList<IReadOnlyList<float>> votes = [[0.9f, 0.1f], [0.2f, 0.8f]];
        Assert.Equal(0, new EnsembleVoter(VoteRule.Soft).Decide(votes).ClassIndex);

        var decision = new EnsembleVoter(VoteRule.Weighted, weights: [1, 3]).Decide(votes);
        Assert.Equal(1, decision.ClassIndex);
        Assert.Equal((0.1 * 1 + 0.8 * 3) / 4, decision.Probability, 6);
        Assert.Equal((0.9 * 1 + 0.2 * 3) / 4, decision.Probabilities[0], 6);
    }

    [Fact]
    public void Majority_counts_votes_not_confidence()
    {
        // Two models narrowly pick class 1, one is very sure of class 0: the mean favours 0, the vote gives 1.
        var decision = new EnsembleVoter(VoteRule.Majority).Decide([[0.4f, 0.6f], [0.45f, 0.55f], [1f, 0f]]);
        Assert.Equal(1, decision.ClassIndex);
        Assert.Equal((0.6 + 0.55 + 0) / 3, decision.Probability, 6);
        Assert.Equal(UncertainReason.BelowThreshold, decision.Reason);
    }

    [Fact]
    public void Majority_tie_goes_to_the_higher_mean_probability()
    {
        // One vote each for class 0 and class 2; class 2's mean (0.75+0.2)/2 beats class 0's (0.6+0.05)/2.
        var decision = new EnsembleVoter(VoteRule.Majority, confidenceThreshold: 0.4).Decide([[0.6f, 0.2f, 0.2f], [0.05f, 0.2f, 0.75f]]);
        Assert.Equal(2, decision.ClassIndex);
        Assert.Equal(0.475, decision.Probability, 6);
        Assert.Equal(UncertainReason.Disagreement, decision.Reason);
    }

    [Fact]
    public void Rejects_bad_inputs_with_clear_messages()
    {
        var voter = new EnsembleVoter();
        Assert.Contains("at least one model", Assert.Throws<ArgumentException>(() => voter.Decide([])).Message);
        Assert.Contains("same classes", Assert.Throws<ArgumentException>(() => voter.Decide([[0.5f, 0.5f], [1f, 0f, 0f]])).Message);
        Assert.Throws<ArgumentException>(() => voter.Decide([[float.NaN, 1f]]));
        Assert.Throws<ArgumentException>(() => voter.Decide([[]]));

        Assert.Throws<ArgumentException>(() => new EnsembleVoter(VoteRule.Weighted));
        Assert.Throws<ArgumentException>(() => new EnsembleVoter(VoteRule.Weighted, weights: [1, 0]));
        Assert.Throws<ArgumentException>(() => new EnsembleVoter(VoteRule.Weighted, weights: [1, -2]));
        Assert.Throws<ArgumentException>(() => new EnsembleVoter(VoteRule.Soft, weights: [1, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EnsembleVoter(confidenceThreshold: 1.5));
        Assert.Contains("one weight per model",
            Assert.Throws<ArgumentException>(() => new EnsembleVoter(VoteRule.Weighted, weights: [1, 2]).Decide([[1f, 0f]])).Message);
    }
}
