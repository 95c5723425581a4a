using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging.Tests;

public sealed class ParticlePreprocessorTests
{
    private static Image<Rgb24> Filled(int width, int height, Rgb24 colour) => new(width, height, colour);

    [Fact]
    public void An_image_at_input_size_keeps_its_exact_pixels()
    {
        var random = new Random(3);
        using var image = new Image<Rgb24>(16, 16);
        for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            image[x, y] = new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));

        float[] planes = ParticlePreprocessor.ToPlanes(image, 16);

        Assert.Equal(3 * 16 * 16, planes.Length);
        for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
        {
            Rgb24 pixel = image[x, y];
            Assert.Equal(pixel.R / 255f, planes[y * 16 + x]);
            Assert.Equal(pixel.G / 255f, planes[256 + y * 16 + x]);
            Assert.Equal(pixel.B / 255f, planes[512 + y * 16 + x]);
        }
    }

    [Fact]
    public void Grey_images_give_three_equal_planes()
    {
        using var image = new Image<Rgb24>(30, 20);
        for (int y = 0; y < 20; y++)
        for (int x = 0; x < 30; x++)
        {
            byte grey = (byte)((x * 7 + y * 13) % 256);
            image[x, y] = new Rgb24(grey, grey, grey);
        }

        float[] planes = ParticlePreprocessor.ToPlanes(image, 24);

        int plane = 24 * 24;
        Assert.Equal(planes[..plane], planes[plane..(2 * plane)]);
        Assert.Equal(planes[..plane], planes[(2 * plane)..]);
        Assert.All(planes, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void A_wide_image_is_centred_on_background_rows_not_stretched()
    {
        // 4 wide x 2 tall; pads to 4 x 4 (input size 4, so no resampling): one background row above, one below.
        using Image<Rgb24> image = Filled(4, 2, new Rgb24(200, 150, 100));
        image[1, 0] = new Rgb24(10, 20, 30);
        image[2, 1] = new Rgb24(40, 50, 60);

        float[] planes = ParticlePreprocessor.ToPlanes(image, 4);

        float[] red = planes[..16];
        float background = 200 / 255f;
        Assert.All(red[..4], v => Assert.Equal(background, v));   // padding row 0
        Assert.All(red[12..], v => Assert.Equal(background, v));  // padding row 3
        Assert.Equal(10 / 255f, red[1 * 4 + 1]);                   // image row 0 is square row 1
        Assert.Equal(40 / 255f, red[2 * 4 + 2]);                   // image row 1 is square row 2
        Assert.Equal(150 / 255f, planes[16]);                      // green padding is green's own background
        Assert.Equal(100 / 255f, planes[32]);
    }

    [Fact]
    public void Padding_uses_the_median_of_the_border_not_its_mean()
    {
        // A tall image whose border is mostly 180 with a dark particle touching one edge.
        using Image<Rgb24> image = Filled(3, 9, new Rgb24(180, 180, 180));
        image[0, 4] = new Rgb24(0, 0, 0);
        image[0, 5] = new Rgb24(0, 0, 0);

        Assert.Equal(new Rgb24(180, 180, 180), ParticlePreprocessor.BorderMedian(image));
        float[] planes = ParticlePreprocessor.ToPlanes(image, 9);
        Assert.Equal(180 / 255f, planes[0]);      // padding column on the left
        Assert.Equal(0f, planes[4 * 9 + 3]);      // the particle, shifted right by the 3-column pad
    }

    [Fact]
    public void A_square_particle_stays_square_after_padding_and_resizing()
    {
        // A 12 x 12 dark square in a 60 x 20 frame; at input 30 it must come out about 6 x 6, not 6 x 18.
        using Image<Rgb24> image = Filled(60, 20, new Rgb24(200, 200, 200));
        for (int y = 4; y < 16; y++)
        for (int x = 24; x < 36; x++)
            image[x, y] = new Rgb24(20, 20, 20);

        float[] planes = ParticlePreprocessor.ToPlanes(image, 30);

        var dark = Enumerable.Range(0, 900).Where(i => planes[i] < 0.4f).ToArray();
        int width = dark.Max(i => i % 30) - dark.Min(i => i % 30) + 1;
        int height = dark.Max(i => i / 30) - dark.Min(i => i / 30) + 1;
        Assert.InRange(width, 5, 7);
        Assert.InRange(height, 5, 7);
        Assert.Equal(200 / 255f, planes[0], 3); // a padded corner is background
    }

    [Fact]
    public void Small_images_are_enlarged_to_the_input_size()
    {
        using Image<Rgb24> image = Filled(10, 10, new Rgb24(128, 128, 128));
        float[] planes = ParticlePreprocessor.ToPlanes(image, 64);
        Assert.Equal(3 * 64 * 64, planes.Length);
        Assert.All(planes, v => Assert.Equal(128 / 255f, v, 2));
    }

    [Fact]
    public void Can_be_called_from_many_threads_on_one_image()
    {
        using Image<Rgb24> image = Filled(50, 31, new Rgb24(190, 190, 190));
        image[20, 10] = new Rgb24(0, 0, 0);
        float[] expected = ParticlePreprocessor.ToPlanes(image, 40);
        var results = new float[16][];
        Parallel.For(0, results.Length, i => results[i] = ParticlePreprocessor.ToPlanes(image, 40));
        Assert.All(results, result => Assert.Equal(expected, result));
    }

    [Fact]
    public void Normalize_subtracts_the_mean_and_divides_by_the_std_per_channel()
    {
        // Size 1 means three values, one per channel; six is wrong.
        Assert.Throws<ArgumentException>(() => ParticlePreprocessor.Normalize(new float[6], 1, ChannelNormalization.ImageNet));

        float[] pixel = [0.485f, 0.456f + 0.224f, 0f];
        ParticlePreprocessor.Normalize(pixel, 1, ChannelNormalization.ImageNet);
        Assert.Equal(0f, pixel[0], 5);
        Assert.Equal(1f, pixel[1], 5);
        Assert.Equal(-0.406f / 0.225f, pixel[2], 5);
    }

    [Fact]
    public void Normalization_needs_three_positive_deviations()
    {
        Assert.Throws<ArgumentException>(() => new ChannelNormalization([0.5f], [0.2f]));
        Assert.Throws<ArgumentException>(() => new ChannelNormalization([0.5f, 0.5f, 0.5f], [0.2f, 0f, 0.2f]));
        Assert.NotSame(ChannelNormalization.ImageNet.Mean, ChannelNormalization.ImageNet.Mean); // callers cannot spoil the shared one
    }
}
