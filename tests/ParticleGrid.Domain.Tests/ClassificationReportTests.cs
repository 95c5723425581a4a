using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

public sealed class ClassificationReportTests
{
    private static readonly string[] Classes = ["bubble", "silicone oil", "glass"];

    // Six images: one glass is taken for silicone oil.
    private static readonly int[] Actual = [0, 0, 1, 1, 2, 2];
    private static readonly IReadOnlyList<IReadOnlyList<float>> Probabilities =
    [
        [0.9f, 0.05f, 0.05f],
        [0.8f, 0.1f, 0.1f],
        [0.1f, 0.8f, 0.1f],
        [0.2f, 0.7f, 0.1f],
        [0.1f, 0.6f, 0.3f],
        [0.1f, 0.1f, 0.8f],
    ];

    [Fact]
    public void Predictions_are_the_argmax_and_metrics_follow_the_confusion_matrix()
    {
        var report = ClassificationReport.From(Classes, Actual, Probabilities);

        Assert.Equal(5.0 / 6, report.Accuracy, 12);
        Assert.Equal(1, report.Confusion[2, 1]);
        Assert.Equal(1, report.Confusion[2, 2]);

        ClassMetrics oil = report.PerClass[1];
        Assert.Equal("silicone oil", oil.Class);
        Assert.Equal(2, oil.Support);
        Assert.Equal(2.0 / 3, oil.Precision, 12);
        Assert.Equal(1.0, oil.Recall, 12);
        Assert.Equal(0.8, oil.F1, 12);

        ClassMetrics glass = report.PerClass[2];
        Assert.Equal(1.0, glass.Precision, 12);
        Assert.Equal(0.5, glass.Recall, 12);
        // Glass scores: positives 0.3, 0.8; negatives 0.05, 0.1, 0.1, 0.1 — every pair won.
        Assert.Equal(1.0, glass.Auc, 12);
        Assert.Same(report.Roc["glass"], report.Roc["glass"]);
        Assert.Equal(glass.Auc, report.Roc["glass"].Auc);
    }

    [Fact]
    public void Table_has_the_studys_columns_with_four_decimals()
    {
        string table = ClassificationReport.From(Classes, Actual, Probabilities).FormatTable("ResNet50");

        Assert.StartsWith("| model | class | precision | recall | F1 | AUC |", table);
        Assert.Contains("| ResNet50 | silicone oil | 0.6667 | 1.0000 | 0.8000 |", table);
        Assert.Contains("| ResNet50 | glass | 1.0000 | 0.5000 | 0.6667 | 1.0000 | 2 |", table);
        Assert.Contains("accuracy 0.8333 (6 images)", table);
    }

    [Fact]
    public void Table_prints_undefined_auc_as_not_available()
    {
        // No glass in the set: glass AUC is undefined.
        string table = ClassificationReport.From(Classes, [0, 1], [[0.9f, 0.1f, 0f], [0.2f, 0.8f, 0f]]).FormatTable("m");
        Assert.Contains("| m | glass | 0.0000 | 0.0000 | 0.0000 | n/a | 0 |", table);
    }

    [Fact]
    public void Confusion_text_has_actual_rows_and_predicted_columns()
    {
        string[] lines = ClassificationReport.From(Classes, Actual, Probabilities).FormatConfusion()
            .Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(4, lines.Length);
        Assert.Equal("actual \\ predicted  bubble  silicone oil  glass", lines[0]);
        Assert.Equal("glass                    0             1      1", lines[3]);
    }

    [Fact]
    public void Rejects_rows_that_do_not_match_the_classes()
    {
        Assert.Throws<ArgumentException>(() => ClassificationReport.From(Classes, [0], [[0.5f, 0.5f]]));
        Assert.Throws<ArgumentException>(() => ClassificationReport.From(Classes, [3], [[0.5f, 0.25f, 0.25f]]));
        Assert.Throws<ArgumentException>(() => ClassificationReport.From(Classes, [0, 1], [[0.5f, 0.25f, 0.25f]]));
    }
}
