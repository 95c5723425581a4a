namespace ParticleGrid.Domain;

/// <summary>How the models of an ensemble combine their class probabilities.</summary>
public enum VoteRule
{
    /// <summary>The mean of the models' probabilities; the largest mean wins.</summary>
    Soft,

    /// <summary>Each model votes for its argmax; most votes win, a tie goes to the higher mean probability.</summary>
    Majority,

    /// <summary>The weighted mean of the models' probabilities (one positive weight per model); the largest wins.</summary>
    Weighted,
}

/// <summary>Why an ensemble decision is not confident.</summary>
public enum UncertainReason
{
    /// <summary>The decision is confident.</summary>
    None,

    /// <summary>The winning class's combined probability is below the confidence threshold.</summary>
    BelowThreshold,

    /// <summary>The models do not all pick the same class.</summary>
    Disagreement,
}

/// <summary>The ensemble's verdict on one particle image.</summary>
/// <param name="ClassIndex">The winning class.</param>
/// <param name="Probability">The combined probability of the winning class (for majority voting: its mean probability).</param>
/// <param name="Probabilities">The combined probability of every class (for majority voting: the plain mean).</param>
/// <param name="IsUncertain">True when a reviewer should look at it (see <paramref name="Reason"/>).</param>
/// <param name="Reason">Why it is uncertain; <see cref="UncertainReason.None"/> when it is not.</param>
/// <param name="ModelVotes">Each model's own argmax, in model order.</param>
public sealed record EnsembleDecision(
    int ClassIndex,
    double Probability,
    IReadOnlyList<double> Probabilities,
    bool IsUncertain,
    UncertainReason Reason,
    IReadOnlyList<int> ModelVotes);

/// <summary>
/// Combines several models' class probabilities for one image and flags decisions a reviewer should check.
/// The reference study counted a prediction as confident only above probability 0.90, hence the default threshold.
/// </summary>
/// <param name="rule">How the models are combined.</param>
/// <param name="confidenceThreshold">A winning probability below this (0..1) makes the decision uncertain.</param>
/// <param name="weights">One positive weight per model; required by <see cref="VoteRule.Weighted"/> and only allowed with it.</param>
public sealed class EnsembleVoter(VoteRule rule = VoteRule.Soft, double confidenceThreshold = 0.90, IReadOnlyList<double>? weights = null)
{
    private readonly double[]? _weights = CheckWeights(rule, weights);

    public VoteRule Rule { get; } = Enum.IsDefined(rule) ? rule : throw new ArgumentOutOfRangeException(nameof(rule), rule, "Not a vote rule.");

    public double ConfidenceThreshold { get; } = confidenceThreshold is >= 0 and <= 1
        ? confidenceThreshold
        : throw new ArgumentOutOfRangeException(nameof(confidenceThreshold), confidenceThreshold, "The confidence threshold must be between 0 and 1.");

    /// <summary>Decides one image from each model's class probabilities (one row per model, same classes in each).</summary>
    /// <exception cref="ArgumentException">No models, rows of different lengths, no classes, non-finite values, or a weight count that does not match the models.</exception>
    public EnsembleDecision Decide(IReadOnlyList<IReadOnlyList<float>> probabilitiesPerModel)
    {
        int classCount = CheckProbabilities(probabilitiesPerModel);
        int modelCount = probabilitiesPerModel.Count;
        if (_weights is not null && _weights.Length != modelCount)
        {
            throw new ArgumentException(
                $"The voter has {_weights.Length} weights but {modelCount} models answered; give one weight per model.",
                nameof(probabilitiesPerModel));
        }

        int[] votes = [.. probabilitiesPerModel.Select(ClassificationReport.ArgMax)];
        double[] combined = Combine(probabilitiesPerModel, classCount, Rule == VoteRule.Weighted ? _weights : null);
        int winner = Rule == VoteRule.Majority ? MostVoted(votes, combined) : ArgMax(combined);
        double probability = combined[winner];

        // Below-threshold is reported first: it is the study's own criterion for a confident call.
        UncertainReason reason =
            probability < ConfidenceThreshold ? UncertainReason.BelowThreshold
            : votes.Distinct().Count() > 1 ? UncertainReason.Disagreement
            : UncertainReason.None;

        return new EnsembleDecision(winner, probability, combined, reason != UncertainReason.None, reason, votes);
    }

    /// <summary>The (weighted) mean of the models' probabilities per class.</summary>
    private static double[] Combine(IReadOnlyList<IReadOnlyList<float>> probabilitiesPerModel, int classCount, double[]? weights)
    {
        var combined = new double[classCount];
        double totalWeight = 0;
        for (int m = 0; m < probabilitiesPerModel.Count; m++)
        {
            double weight = weights?[m] ?? 1.0;
            totalWeight += weight;
            for (int c = 0; c < classCount; c++) combined[c] += weight * probabilitiesPerModel[m][c];
        }
        for (int c = 0; c < classCount; c++) combined[c] /= totalWeight;
        return combined;
    }

    /// <summary>The class with the most votes; among tied classes, the one with the higher mean probability.</summary>
    private static int MostVoted(int[] votes, double[] meanProbabilities)
    {
        var tally = new int[meanProbabilities.Length];
        foreach (int vote in votes) tally[vote]++;
        int best = 0;
        for (int c = 1; c < tally.Length; c++)
        {
            if (tally[c] > tally[best] || (tally[c] == tally[best] && meanProbabilities[c] > meanProbabilities[best])) best = c;
        }
        return best;
    }

    private static int ArgMax(double[] values)
    {
        int best = 0;
        for (int c = 1; c < values.Length; c++)
        {
            if (values[c] > values[best]) best = c;
        }
        return best;
    }

    private static int CheckProbabilities(IReadOnlyList<IReadOnlyList<float>> probabilitiesPerModel)
    {
        ArgumentNullException.ThrowIfNull(probabilitiesPerModel);
        if (probabilitiesPerModel.Count == 0)
        {
            throw new ArgumentException("An ensemble decision needs the probabilities of at least one model.", nameof(probabilitiesPerModel));
        }
        int classCount = -1;
        for (int m = 0; m < probabilitiesPerModel.Count; m++)
        {
            IReadOnlyList<float> row = probabilitiesPerModel[m]
                ?? throw new ArgumentException($"Model {m} gave no probabilities (null).", nameof(probabilitiesPerModel));
            if (row.Count == 0) throw new ArgumentException($"Model {m} gave an empty probability list.", nameof(probabilitiesPerModel));
            if (classCount == -1) classCount = row.Count;
            else if (row.Count != classCount)
            {
                throw new ArgumentException(
                    $"Model {m} gave {row.Count} class probabilities but model 0 gave {classCount}; all models must score the same classes.",
                    nameof(probabilitiesPerModel));
            }
            if (row.Any(p => !float.IsFinite(p)))
            {
                throw new ArgumentException($"Model {m} gave a probability that is not a finite number.", nameof(probabilitiesPerModel));
            }
        }
        return classCount;
    }

    private static double[]? CheckWeights(VoteRule rule, IReadOnlyList<double>? weights)
    {
        if (rule != VoteRule.Weighted)
        {
            return weights is null ? null
                : throw new ArgumentException($"Weights apply only to {nameof(VoteRule)}.{nameof(VoteRule.Weighted)}, not {rule}.", nameof(weights));
        }
        if (weights is null || weights.Count == 0)
        {
            throw new ArgumentException($"{nameof(VoteRule)}.{nameof(VoteRule.Weighted)} needs one weight per model.", nameof(weights));
        }
        if (weights.Any(w => !double.IsFinite(w) || w <= 0))
        {
            throw new ArgumentException("Every model weight must be a positive finite number.", nameof(weights));
        }
        return [.. weights];
    }
}
