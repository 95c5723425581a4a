using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

public sealed class ConfusionMatrixTests
{
    /// <summary>
    /// actual \ predicted   a  b  c
    /// a                    5  1  0
    /// b                    2  3  1
    /// c                    0  0  4
    /// </summary>
    private static ConfusionMatrix Known()
    {
        var matrix = new ConfusionMatrix(["a", "b", "c"]);
        int[,] counts = { { 5, 1, 0 }, { 2, 3, 1 }, { 0, 0, 4 } };
        for (int actual = 0; actual < 3; actual++)
        for (int predicted = 0; predicted < 3; predicted++)
        for (int n = 0; n < counts[actual, predicted]; n++)
            matrix.Add(actual, predicted);
        return matrix;
    }

    [Fact]
    public void Cells_total_and_accuracy()
    {
        ConfusionMatrix matrix = Known();
        Assert.Equal(16, matrix.Total);
        Assert.Equal(2, matrix[1, 0]);
        Assert.Equal(12.0 / 16, matrix.Accuracy, 12);
        Assert.Equal(["a", "b", "c"], matrix.Classes);
    }

    [Fact]
    public void Precision_recall_and_f1_per_class()
    {
        ConfusionMatrix matrix = Known();
        // a: predicted 7 times, 5 right; 6 actual.
        Assert.Equal(5.0 / 7, matrix.Precision(0), 12);
        Assert.Equal(5.0 / 6, matrix.Recall(0), 12);
        Assert.Equal(2 * (5.0 / 7) * (5.0 / 6) / (5.0 / 7 + 5.0 / 6), matrix.F1(0), 12);
        // b: predicted 4 times, 3 right; 6 actual.
        Assert.Equal(0.75, matrix.Precision(1), 12);
        Assert.Equal(0.5, matrix.Recall(1), 12);
        Assert.Equal(0.6, matrix.F1(1), 12);
        // c: predicted 5 times, 4 right; 4 actual.
        Assert.Equal(0.8, matrix.Precision(2), 12);
        Assert.Equal(1.0, matrix.Recall(2), 12);
    }

    [Fact]
    public void Undefined_ratios_are_zero()
    {
        var matrix = new ConfusionMatrix(["a", "b"]);
        Assert.Equal(0, matrix.Accuracy);
        matrix.Add(0, 0);
        Assert.Equal(0, matrix.Precision(1)); // never predicted
        Assert.Equal(0, matrix.Recall(1));    // never present
        Assert.Equal(0, matrix.F1(1));
    }

    [Fact]
    public void Rejects_class_indices_out_of_range()
    {
        var matrix = new ConfusionMatrix(["a", "b"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Add(2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix[0, -1]);
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix([]));
    }
}
