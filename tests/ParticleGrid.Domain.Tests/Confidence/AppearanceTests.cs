using ParticleGrid.Domain.Confidence;

namespace ParticleGrid.Domain.Tests.Confidence;

/// <summary>The image's own appearance (contrast, elongation, body sign) and its part of the out-of-scope reference.</summary>
public sealed class AppearanceTests
{
    const int Side = 64;

    /// <summary>Grey planes (byte / 255, three equal channels as the preprocessor writes them) drawn by a function of (x, y).</summary>
    static float[] Planes(Func<int, int, int> grey)
    {
        var planes = new float[3 * Side * Side];
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
                for (int c = 0; c < 3; c++)
                    planes[c * Side * Side + y * Side + x] = Math.Clamp(grey(x, y), 0, 255) / 255f;
        return planes;
    }

    static readonly Func<int, int, int> Disc = (x, y) => (x - 32) * (x - 32) + (y - 30) * (y - 30) < 144 ? 60 : 180;
    static readonly Func<int, int, int> Strand = (x, y) => Math.Abs(y - 32 - (x - 32) / 8) <= 1 && x is > 4 and < 60 ? 70 : 180;
    // A refractive streak: as much brighter as darker than the background, and faint.
    static readonly Func<int, int, int> Streak = (x, y) => Math.Abs(x - 32) < 14 && Math.Abs(y - 32) < 5 ? 180 + (x % 4 < 2 ? 9 : -9) : 180;

    [Fact]
    public void A_dark_disc_a_thin_strand_and_a_faint_streak_are_told_apart_by_contrast_elongation_and_sign()
    {
        var disc = ParticleAppearance.Describe(Planes(Disc), Side);
        var strand = ParticleAppearance.Describe(Planes(Strand), Side);
        var streak = ParticleAppearance.Describe(Planes(Streak), Side);

        Assert.Equal(Math.Log(121), disc[0], 3);                 // 180 - 60 grey levels, ln(1 + 120)
        Assert.InRange(disc[1], 0, 0.1);                          // round: axes equal
        Assert.InRange(disc[2], -1.01, -0.95);                    // all of it darker than the background
        Assert.True(strand[1] > Math.Log(8), $"strand elongation e^{strand[1]:F2}");
        Assert.True(streak[0] < Math.Log(11), $"streak contrast e^{streak[0]:F2}");
        Assert.InRange(streak[2], -0.2, 0.2);                     // as bright as it is dark

        // One grey plane reads as three equal ones; a particle cut by the frame keeps its background (the border's median).
        var onePlane = Planes(Disc)[..(Side * Side)];
        Assert.Equal(disc, ParticleAppearance.Describe(onePlane, Side));
        var cut = ParticleAppearance.Describe(Planes((x, y) => (x - 2) * (x - 2) + (y - 30) * (y - 30) < 144 ? 60 : 180), Side);
        Assert.Equal(disc[0], cut[0], 3);
        Assert.Throws<ArgumentException>(() => ParticleAppearance.Describe(new float[100], Side));
    }

    [Fact]
    public void The_appearance_part_is_standardised_on_validation_and_makes_an_unlike_image_out_of_scope_whatever_the_stages_say()
    {
        var random = new Random(3);
        float[] Around(float contrast, float elongation, float sign) =>
            [contrast + (float)(random.NextDouble() - 0.5) * 0.4f, elongation + (float)(random.NextDouble() - 0.5) * 0.3f, sign + (float)(random.NextDouble() - 0.5) * 0.2f];
        var train = new List<float[]>();
        var labels = new List<int>();
        for (int i = 0; i < 200; i++) { train.Add(Around(5.0f, 0.1f, -0.7f)); labels.Add(0); train.Add(Around(3.4f, 0.4f, -0.9f)); labels.Add(1); }
        var validation = Enumerable.Range(0, 100).Select(i => i % 2 == 0 ? Around(5.0f, 0.1f, -0.7f) : Around(3.4f, 0.4f, -0.9f)).ToList();
        var appearance = AppearanceReference.Fit(train, labels, 2, validation);
        Assert.Equal(0, validation.Average(v => appearance.Standardised(v)), 6);

        var stage = new FeatureReference(mean: [0, 0], components: [1, 0], centres: [0], precision: [1], residualVariance: 0.25);
        float[][] stageValidation = [[1, 0], [2, 0], [0.5f, 0.25f], [1.5f, 0]];
        var reference = OutOfScopeReference.Standardise([stage], stageValidation, appearance);
        var stagesOnly = OutOfScopeReference.Standardise([stage], stageValidation);

        float[] typicalFeatures = [1, 0];
        float[] faintSmear = [2.5f, 0.1f, 0.0f];   // fainter than either class and neither dark nor bright
        float[] longStrand = [4.5f, 2.4f, -0.8f];  // a fibre's axes ratio of 11
        Assert.True(reference.Score(typicalFeatures, faintSmear) > 20 * reference.Score(typicalFeatures, Around(5.0f, 0.1f, -0.7f)));
        Assert.True(reference.Score(typicalFeatures, longStrand) > 20 * reference.Score(typicalFeatures, Around(3.4f, 0.4f, -0.9f)));
        // The larger part decides: an image far off in the stages stays out of scope however ordinary it looks.
        Assert.Equal(stagesOnly.Score([1, 9]), reference.Score([1, 9], Around(5.0f, 0.1f, -0.7f)), 9);

        // Layout 3 survives its bytes; a reference without appearance keeps layout 2's bytes (and so its hash).
        var copy = OutOfScopeReference.FromBytes(reference.ToBytes());
        Assert.Equal(reference.Score(typicalFeatures, faintSmear), copy.Score(typicalFeatures, faintSmear), 9);
        Assert.Equal(reference.Sha256(), copy.Sha256());
        Assert.Equal("POD3"u8.ToArray(), reference.ToBytes()[..4]);
        Assert.Equal("POD2"u8.ToArray(), stagesOnly.ToBytes()[..4]);
        Assert.Null(OutOfScopeReference.FromBytes(stagesOnly.ToBytes()).Appearance);
        Assert.Throws<InvalidDataException>(() => OutOfScopeReference.FromBytes([.. reference.ToBytes().SkipLast(8)]));
        Assert.Throws<ArgumentException>(() => reference.Score(typicalFeatures));  // it needs the image's appearance
    }

    /// <summary>A test's few images per class: a class with one image borrows the pooled covariance, one with none has no Gaussian.</summary>
    [Fact]
    public void A_class_with_few_or_no_training_images_still_gets_a_reference()
    {
        var random = new Random(9);
        float[] Around(float contrast) => [contrast + (float)random.NextDouble() * 0.2f, (float)random.NextDouble() * 0.2f, -0.8f + (float)random.NextDouble() * 0.1f];
        var train = new List<float[]> { Around(3.5f) };
        var labels = new List<int> { 0 };
        for (int i = 0; i < 12; i++) { train.Add(Around(5.0f)); labels.Add(2); }
        var reference = AppearanceReference.Fit(train, labels, classCount: 4, validation: [Around(5.0f), Around(3.5f)]);
        Assert.Equal(2, reference.Classes);                       // classes 1 and 3 had no image
        Assert.True(reference.Distance(Around(3.5f)) < reference.Distance([1.0f, 2.5f, 0.0f]));
        Assert.Throws<ArgumentException>(() => AppearanceReference.Fit([], [], 4, []));
    }
}
