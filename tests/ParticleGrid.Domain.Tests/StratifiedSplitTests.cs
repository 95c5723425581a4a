using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

public sealed class StratifiedSplitTests
{
    // The study's class sizes: bubble 38, silicone oil 91, glass 35, protein 88.
    private static readonly int[] StudyLabels =
        [.. Enumerable.Repeat(0, 38), .. Enumerable.Repeat(1, 91), .. Enumerable.Repeat(2, 35), .. Enumerable.Repeat(3, 88)];

    [Fact]
    public void Each_class_is_split_in_the_requested_proportion()
    {
        var (train, validation) = StratifiedSplit.Split(StudyLabels, 0.3, seed: 1);

        // round(38*.3)=11, round(91*.3)=27, round(35*.3)=11 (10.5 rounds up), round(88*.3)=26.
        Assert.Equal([11, 27, 11, 26], Enumerable.Range(0, 4).Select(c => validation.Count(i => StudyLabels[i] == c)));
        Assert.Equal(StudyLabels.Length, train.Length + validation.Length);
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(Enumerable.Range(0, StudyLabels.Length), train.Concat(validation).Order());
    }

    [Fact]
    public void Parts_are_sorted_and_the_same_for_the_same_seed()
    {
        var first = StratifiedSplit.Split(StudyLabels, 0.3, seed: 42);
        var second = StratifiedSplit.Split(StudyLabels, 0.3, seed: 42);
        var other = StratifiedSplit.Split(StudyLabels, 0.3, seed: 43);

        Assert.Equal(first.Validation, second.Validation);
        Assert.Equal(first.Train, second.Train);
        Assert.NotEqual(first.Validation, other.Validation);
        Assert.Equal(first.Train.Order(), first.Train);
        Assert.Equal(first.Validation.Order(), first.Validation);
    }

    [Fact]
    public void Small_classes_keep_one_in_validation_and_never_lose_all()
    {
        // Class 5 has one item, class 6 two, class 7 three; a tiny fraction still validates one of each pair.
        int[] labels = [5, 6, 6, 7, 7, 7];
        var (train, validation) = StratifiedSplit.Split(labels, 0.01, seed: 3);
        Assert.DoesNotContain(0, validation); // the lone item stays in training
        Assert.Equal(1, validation.Count(i => labels[i] == 6));
        Assert.Equal(1, validation.Count(i => labels[i] == 7));

        var (_, mostly) = StratifiedSplit.Split(labels, 0.99, seed: 3);
        Assert.Equal(1, mostly.Count(i => labels[i] == 6));
        Assert.Equal(2, mostly.Count(i => labels[i] == 7));
        Assert.Equal(6, train.Length + validation.Length);
    }

    [Fact]
    public void Interleaved_labels_are_handled_by_class_not_position()
    {
        int[] labels = [.. Enumerable.Range(0, 100).Select(i => i % 2)];
        var (_, validation) = StratifiedSplit.Split(labels, 0.2, seed: 9);
        Assert.Equal(10, validation.Count(i => labels[i] == 0));
        Assert.Equal(10, validation.Count(i => labels[i] == 1));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Rejects_fractions_outside_zero_to_one(double fraction) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => StratifiedSplit.Split([0, 1], fraction, 0));
}
