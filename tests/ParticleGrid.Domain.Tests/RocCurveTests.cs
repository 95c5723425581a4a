using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

public sealed class RocCurveTests
{
    private static IReadOnlyList<IReadOnlyList<float>> Binary(params float[] positiveScores) =>
        [.. positiveScores.Select(s => (IReadOnlyList<float>)[1 - s, s])];

    /// <summary>The Mann–Whitney statistic by brute force: P(positive scores above negative), ties one half.</summary>
    private static double PairwiseAuc(IReadOnlyList<int> actual, IReadOnlyList<IReadOnlyList<float>> probabilities, int positive)
    {
        double wins = 0;
        int pairs = 0;
        for (int i = 0; i < actual.Count; i++)
        for (int j = 0; j < actual.Count; j++)
        {
            if (actual[i] != positive || actual[j] == positive) continue;
            pairs++;
            float p = probabilities[i][positive], n = probabilities[j][positive];
            wins += p > n ? 1 : p == n ? 0.5 : 0;
        }
        return wins / pairs;
    }

    [Fact]
    public void Perfect_separation_has_area_one()
    {
        RocCurve curve = RocCurve.OneVsRest([0, 0, 1, 1], Binary(0.1f, 0.2f, 0.8f, 0.9f), 1);
        Assert.Equal(1.0, curve.Auc, 12);
        Assert.Equal(new RocPoint(0, 0, double.PositiveInfinity), curve.Points[0]);
        Assert.Equal(new RocPoint(1, 1, 0.1f), curve.Points[^1]);
    }

    [Fact]
    public void Hand_computed_area_with_one_misordered_pair()
    {
        // Positives 0.9, 0.4; negatives 0.6, 0.2. Of 4 pairs, (0.4 vs 0.6) is lost: AUC 3/4.
        RocCurve curve = RocCurve.OneVsRest([1, 0, 1, 0], Binary(0.9f, 0.6f, 0.4f, 0.2f), 1);
        Assert.Equal(0.75, curve.Auc, 12);
        Assert.Equal(
            [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)],
            curve.Points.Select(p => (p.FalsePositiveRate, p.TruePositiveRate)));
    }

    [Fact]
    public void Tied_scores_form_one_diagonal_step()
    {
        // Everything ties: one step from (0,0) to (1,1), area one half.
        RocCurve allTied = RocCurve.OneVsRest([0, 1, 0, 1], Binary(0.5f, 0.5f, 0.5f, 0.5f), 1);
        Assert.Equal(0.5, allTied.Auc, 12);
        Assert.Equal(2, allTied.Points.Count);

        // A positive tied with a negative at 0.7: that pair counts one half. Pairs: (0.7,0.7)=.5, (0.7,0.1)=1, (0.3,0.7)=0, (0.3,0.1)=1.
        RocCurve someTied = RocCurve.OneVsRest([1, 0, 1, 0], Binary(0.7f, 0.7f, 0.3f, 0.1f), 1);
        Assert.Equal(2.5 / 4, someTied.Auc, 12);
        Assert.Contains(someTied.Points, p => p.FalsePositiveRate == 0.5 && p.TruePositiveRate == 0.5 && p.Threshold == 0.7f);
    }

    [Fact]
    public void Area_equals_brute_force_pairwise_count_on_random_multiclass_scores()
    {
        var random = new Random(7);
        const int Classes = 4;
        int[] actual = [.. Enumerable.Range(0, 300).Select(_ => random.Next(Classes))];
        // Coarse scores (tenths) to make many ties.
        IReadOnlyList<IReadOnlyList<float>> probabilities =
            [.. actual.Select(a => (IReadOnlyList<float>)[.. Enumerable.Range(0, Classes).Select(c => MathF.Round((float)random.NextDouble() + (c == a ? 0.3f : 0), 1))])];

        for (int c = 0; c < Classes; c++)
        {
            RocCurve curve = RocCurve.OneVsRest(actual, probabilities, c);
            Assert.Equal(PairwiseAuc(actual, probabilities, c), curve.Auc, 10);
            Assert.True(curve.Points.Zip(curve.Points.Skip(1)).All(p => p.Second.FalsePositiveRate >= p.First.FalsePositiveRate && p.Second.TruePositiveRate >= p.First.TruePositiveRate));
        }
    }

    [Fact]
    public void Area_is_nan_without_positives_or_negatives()
    {
        Assert.True(double.IsNaN(RocCurve.OneVsRest([0, 0], Binary(0.2f, 0.4f), 1).Auc));
        Assert.True(double.IsNaN(RocCurve.OneVsRest([1, 1], Binary(0.2f, 0.4f), 1).Auc));
        Assert.Empty(RocCurve.OneVsRest([1, 1], Binary(0.2f, 0.4f), 1).Points);
    }

    [Fact]
    public void Rejects_mismatched_inputs()
    {
        Assert.Throws<ArgumentException>(() => RocCurve.OneVsRest([0, 1, 1], Binary(0.2f, 0.4f), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RocCurve.OneVsRest([0, 1], Binary(0.2f, 0.4f), 2));
    }
}
