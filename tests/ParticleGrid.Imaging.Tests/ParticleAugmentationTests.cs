namespace ParticleGrid.Imaging.Tests;

public sealed class ParticleAugmentationTests
{
    private const int Size = 24;

    /// <summary>Three equal planes of a dark off-centre blob on a light background, with pure black and white pixels.</summary>
    private static float[] GreyParticle()
    {
        int plane = Size * Size;
        var planes = new float[3 * plane];
        for (int y = 0; y < Size; y++)
        for (int x = 0; x < Size; x++)
        {
            double d = Math.Sqrt((x - 8) * (x - 8) + (y - 6) * (y - 6));
            float value = d < 4 ? 0f : x == Size - 1 ? 1f : 0.8f;
            for (int c = 0; c < 3; c++) planes[c * plane + y * Size + x] = value;
        }
        return planes;
    }

    [Fact]
    public void Values_stay_within_zero_to_one()
    {
        var random = new Random(11);
        for (int run = 0; run < 200; run++)
        {
            float[] planes = GreyParticle();
            ParticleAugmentation.Apply(planes, Size, random);
            Assert.All(planes, v => Assert.InRange(v, 0f, 1f));
        }
    }

    [Fact]
    public void The_same_random_state_gives_the_same_result()
    {
        float[] first = GreyParticle(), second = GreyParticle(), other = GreyParticle();
        ParticleAugmentation.Apply(first, Size, new Random(5));
        ParticleAugmentation.Apply(second, Size, new Random(5));
        ParticleAugmentation.Apply(other, Size, new Random(6));
        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Every_channel_gets_the_same_change()
    {
        var random = new Random(2);
        int plane = Size * Size;
        for (int run = 0; run < 50; run++)
        {
            float[] planes = GreyParticle();
            ParticleAugmentation.Apply(planes, Size, random);
            Assert.Equal(planes[..plane], planes[plane..(2 * plane)]);
            Assert.Equal(planes[..plane], planes[(2 * plane)..]);
        }
    }

    [Fact]
    public void Orientation_changes_move_the_particle_to_one_of_the_eight_symmetric_places()
    {
        // The blob centre (8, 6) can only land where a flip or quarter turn of the square sends it.
        int last = Size - 1;
        (int, int)[] places = [(8, 6), (last - 8, 6), (8, last - 6), (last - 8, last - 6), (6, 8), (last - 6, 8), (6, last - 8), (last - 6, last - 8)];
        var seen = new HashSet<(int, int)>();
        var random = new Random(4);
        for (int run = 0; run < 100; run++)
        {
            float[] planes = GreyParticle();
            ParticleAugmentation.Apply(planes, Size, random);
            int darkest = Array.IndexOf(planes, planes[..(Size * Size)].Min());
            var dark = Enumerable.Range(0, Size * Size).Where(i => planes[i] < planes[darkest] + 0.05f).ToArray();
            (int, int) centre = ((int)Math.Round(dark.Average(i => i % Size)), (int)Math.Round(dark.Average(i => i / Size)));
            Assert.Contains(centre, places);
            seen.Add(centre);
        }
        Assert.True(seen.Count >= 6, $"only {seen.Count} orientations in 100 runs");
    }

    [Fact]
    public void Brightness_and_contrast_changes_are_small()
    {
        var random = new Random(8);
        for (int run = 0; run < 100; run++)
        {
            float[] planes = GreyParticle();
            ParticleAugmentation.Apply(planes, Size, random);
            // Most of the frame is background at 0.8; it may move by the brightness shift and the contrast change only.
            float median = planes[..(Size * Size)].Order().ElementAt(Size * Size / 2);
            Assert.InRange(median, 0.8f - 0.06f - 0.1f * 0.2f, 0.8f + 0.06f + 0.1f * 0.2f);
        }
    }

    [Fact]
    public void Rejects_planes_of_the_wrong_length() =>
        Assert.Throws<ArgumentException>(() => ParticleAugmentation.Apply(new float[100], Size, new Random(1)));
}
