using ParticleGrid.Domain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;

namespace ParticleGrid.Imaging.Tests;

public sealed class MorphologyTests(ITestOutputHelper output)
{
    private const byte LightBackground = 200;

    /// <summary>
    /// A grey frame: <paramref name="shade"/> gets each pixel's centre and returns its grey level, or null for
    /// background; Gaussian camera noise of <paramref name="noise"/> grey levels (seeded) is added to every pixel.
    /// </summary>
    private static Image<Rgb24> Frame(int width, int height, Func<double, double, byte?> shade, double noise = 2, byte background = LightBackground, int seed = 1)
    {
        var random = new Random(seed);
        var image = new Image<Rgb24>(width, height);
        image.ProcessPixelRows(accessor =>
        {
            for (int y = 0; y < height; y++)
            {
                Span<Rgb24> row = accessor.GetRowSpan(y);
                for (int x = 0; x < width; x++)
                {
                    double value = shade(x + 0.5, y + 0.5) ?? background;
                    if (noise > 0) value += noise * Gaussian(random);
                    byte grey = (byte)Math.Clamp(Math.Round(value), 0, 255);
                    row[x] = new Rgb24(grey, grey, grey);
                }
            }
        });
        return image;
    }

    private static Func<double, double, byte?> Disc(double cx, double cy, double radius, byte level) =>
        (x, y) => (x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius ? level : null;

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static ParticleMeasurements MeasureParticle(Image<Rgb24> image, double micrometresPerPixel)
    {
        ParticleMeasurements? measurements = ParticleMorphology.Measure(image, micrometresPerPixel);
        Assert.NotNull(measurements);
        return measurements;
    }

    [Theory]
    [InlineData(8)]
    [InlineData(12)]
    [InlineData(20)]
    [InlineData(33.5)]
    public void A_dark_disc_measures_its_diameter_and_is_round(double radius)
    {
        const double Um = 0.8;
        using Image<Rgb24> image = Frame(96, 96, Disc(47.3, 48.6, radius, 60));

        ParticleMeasurements disc = MeasureParticle(image, Um);

        output.WriteLine($"r {radius}: {disc}");
        Assert.InRange(disc.EcdMicrometres / (2 * radius * Um), 0.95, 1.05);
        Assert.Equal(disc.AreaPixels * Um * Um, disc.AreaSquareMicrometres, 9);
        Assert.Equal(Math.PI * disc.EcdMicrometres * disc.EcdMicrometres / 4, disc.AreaSquareMicrometres, 6);
        Assert.InRange(disc.AreaSquareMicrometres / (Math.PI * radius * radius * Um * Um), 0.9, 1.1);
        Assert.True(disc.AspectRatio > 0.95, $"aspect ratio {disc.AspectRatio}");
        Assert.True(disc.Circularity > 0.85, $"circularity {disc.Circularity}");
        Assert.InRange(disc.MeanIntensity, 58, 62);
        Assert.False(disc.TouchesEdge);
    }

    [Fact]
    public void A_ring_like_a_large_bubble_is_filled_and_measures_its_outer_diameter()
    {
        // A thick dark rim around a centre of the background's own grey: the centre is a hole, and belongs to the bubble.
        using Image<Rgb24> image = Frame(96, 96, (x, y) =>
        {
            double d = Math.Sqrt((x - 46.5) * (x - 46.5) + (y - 49.2) * (y - 49.2));
            return d <= 25 && d > 19 ? (byte)30 : (byte?)null;
        });

        ParticleMeasurements bubble = MeasureParticle(image, 1.0);

        Assert.InRange(bubble.EcdMicrometres / 50, 0.95, 1.05);
        Assert.True(bubble.Circularity > 0.85, $"circularity {bubble.Circularity}");
        Assert.InRange(bubble.MeanIntensity, 90, 150); // rim and (background-grey) inside together
    }

    [Theory]
    [InlineData(0)]
    [InlineData(30)]
    [InlineData(90)]
    public void A_thin_rectangle_has_aspect_ratio_width_over_length_and_low_circularity(double degrees)
    {
        const double Length = 60, Width = 4;
        double cos = Math.Cos(degrees * Math.PI / 180), sin = Math.Sin(degrees * Math.PI / 180);
        using Image<Rgb24> image = Frame(96, 96, (x, y) =>
        {
            double dx = x - 48.2, dy = y - 47.7;
            double along = dx * cos + dy * sin, across = -dx * sin + dy * cos;
            return Math.Abs(along) <= Length / 2 && Math.Abs(across) <= Width / 2 ? (byte)50 : (byte?)null;
        });

        ParticleMeasurements strand = MeasureParticle(image, 1.0);

        output.WriteLine($"{degrees} deg: {strand}");
        Assert.InRange(strand.AspectRatio / (Width / Length), 0.9, 1.1);
        Assert.True(strand.Circularity < 0.3, $"circularity {strand.Circularity}");
        Assert.InRange(strand.AreaPixels, 0.9 * Width * Length, 1.1 * Width * Length);
    }

    [Fact]
    public void A_ragged_outline_is_less_circular_than_a_disc()
    {
        // A disc of radius 20 whose edge wobbles by +-5 pixels nine times around.
        using Image<Rgb24> image = Frame(96, 96, (x, y) =>
        {
            double dx = x - 48, dy = y - 48;
            return Math.Sqrt(dx * dx + dy * dy) <= 20 + 5 * Math.Sin(9 * Math.Atan2(dy, dx)) ? (byte)70 : (byte?)null;
        });

        ParticleMeasurements clump = MeasureParticle(image, 1.0);

        Assert.True(clump.Circularity < 0.75, $"circularity {clump.Circularity}");
        Assert.True(clump.AspectRatio > 0.9, $"aspect ratio {clump.AspectRatio}"); // still as wide as long
    }

    [Fact]
    public void A_bright_centred_droplet_segments_whole()
    {
        // Silicone oil: a thin dark ring, a body of nearly the background's grey, a centre brighter than the background.
        using Image<Rgb24> image = Frame(64, 64, (x, y) =>
        {
            double d = Math.Sqrt((x - 31.4) * (x - 31.4) + (y - 33.1) * (y - 33.1));
            return d > 15 ? (byte?)null : d > 13 ? (byte)90 : d < 5 ? (byte)245 : (byte)203;
        }, background: 195);

        ParticleMeasurements droplet = MeasureParticle(image, 1.0);

        Assert.InRange(droplet.EcdMicrometres / 30, 0.95, 1.05);
        Assert.True(droplet.AspectRatio > 0.95);
    }

    [Fact]
    public void A_particle_brighter_than_the_background_segments()
    {
        using Image<Rgb24> image = Frame(64, 64, Disc(30.2, 29.7, 10, 250), background: 150);

        ParticleMeasurements bright = MeasureParticle(image, 1.0);

        Assert.InRange(bright.EcdMicrometres / 20, 0.95, 1.05);
        Assert.InRange(bright.MeanIntensity, 248, 251);
    }

    [Fact]
    public void Mean_intensity_is_the_mean_of_the_channels_of_the_particle_pixels()
    {
        using var image = new Image<Rgb24>(40, 40, new Rgb24(190, 200, 210));
        for (int y = 15; y < 25; y++)
        for (int x = 12; x < 22; x++)
            image[x, y] = new Rgb24(30, 60, 90);

        ParticleMeasurements square = MeasureParticle(image, 1.0);

        Assert.Equal(100, square.AreaPixels);
        Assert.Equal(60, square.MeanIntensity, 9);
        Assert.Equal(1, square.AspectRatio, 9);
        Assert.InRange(square.Circularity, 0.8, 0.95); // a square's true circularity is pi / 4 = 0.785
    }

    [Fact]
    public void Noise_speckles_smaller_than_the_particle_do_not_win()
    {
        var random = new Random(11);
        var specks = new HashSet<(int, int)>();
        while (specks.Count < 40)
        {
            int x = random.Next(96), y = random.Next(96);
            if ((x - 60) * (x - 60) + (y - 60) * (y - 60) > 14 * 14) specks.Add((x, y));
        }
        Func<double, double, byte?> disc = Disc(60.5, 60.5, 9, 40);
        using Image<Rgb24> image = Frame(96, 96, (x, y) =>
            disc(x, y) ?? (specks.Contains(((int)x, (int)y)) ? (byte)20 : (byte?)null)
            ?? (x is > 10 and < 14 && y is > 10 and < 14 ? (byte)20 : (byte?)null)); // and a 3 x 3 clump

        ParticleMeasurements particle = MeasureParticle(image, 1.0);

        Assert.InRange(particle.EcdMicrometres / 18, 0.95, 1.05);
        Assert.False(particle.TouchesEdge);
    }

    [Theory]
    [InlineData(64, 64, 0.0, 0.0)]
    [InlineData(64, 64, 4.0, 0.0)]
    [InlineData(96, 96, 5.0, 0.1)]
    [InlineData(1000, 1000, 4.0, 0.05)]
    [InlineData(1, 1, 0.0, 0.0)]
    [InlineData(7, 1, 3.0, 0.0)]
    public void An_empty_frame_measures_as_nothing(int width, int height, double noise, double slopePerPixel)
    {
        // Camera noise and a background that drifts across the frame (as instruments' backgrounds do) are not a particle.
        using Image<Rgb24> image = Frame(width, height, (x, y) => (byte?)(byte)Math.Round(180 + slopePerPixel * (x - width / 2.0)), noise, seed: width + height);

        Assert.Null(ParticleMorphology.Measure(image, 1.0));
    }

    [Fact]
    public void A_particle_cut_by_the_frame_edge_says_so()
    {
        using Image<Rgb24> image = Frame(64, 64, Disc(4, 30, 12, 50));

        ParticleMeasurements cut = MeasureParticle(image, 1.0);

        Assert.True(cut.TouchesEdge);
        Assert.True(cut.EcdMicrometres < 24, $"ECD {cut.EcdMicrometres}: the frame cuts off part of the disc");
    }

    [Fact]
    public void A_frame_of_sixteen_million_pixels_is_measured_without_recursion()
    {
        // The decoder's largest frame; one particle of millions of pixels, so every flood fill is deep.
        const int Width = 8000, Height = 2000;
        using Image<Rgb24> image = Frame(Width, Height, Disc(4000, 1000, 900, 40), noise: 0);

        ParticleMeasurements large = MeasureParticle(image, 1.0);

        Assert.InRange(large.EcdMicrometres / 1800, 0.99, 1.01);
        Assert.True(large.Circularity > 0.95, $"circularity {large.Circularity}");
        Assert.False(large.TouchesEdge);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void An_invalid_calibration_is_refused(double micrometresPerPixel)
    {
        using Image<Rgb24> image = Frame(32, 32, Disc(16, 16, 6, 50));

        Assert.Throws<ArgumentOutOfRangeException>(() => ParticleMorphology.Measure(image, micrometresPerPixel));
    }

    [Fact]
    public void A_missing_image_is_refused() =>
        Assert.Throws<ArgumentNullException>(() => ParticleMorphology.Measure(null!, 1.0));

    /// <summary>
    /// Measures 20 synthetic particles per type at 0.5 um/px on 96-pixel frames. The generator draws each particle's
    /// ECD from its type's range but renders it within a radius window (SmallestRadiusShare to LargestRadiusShare of the
    /// frame: 13.4 to 38.4 um of diameter here, bubbles to 67 um), so part of the ratio to the drawn ECD is the
    /// generator's own clamping, not the segmentation. 0.5 um/px keeps most drawn sizes inside that window. The ratio
    /// to the size as rendered (the drawn ECD clamped the same way) is what the segmentation itself gets right.
    /// A null measurement counts as ratio 0.
    /// </summary>
    [Theory]
    [InlineData(ParticleType.Bubble, 0.9, 1.15)]
    [InlineData(ParticleType.SiliconeOil, 0.9, 1.15)]
    [InlineData(ParticleType.Glass, 0.9, 1.15)]
    [InlineData(ParticleType.Protein, 0.6, 1.6)]
    public void Synthetic_particles_measure_near_their_drawn_size(ParticleType type, double lowRendered, double highRendered)
    {
        const int Size = 96, Seeds = 20;
        const double Um = 0.5;
        double smallest = Math.Max(3.5, SyntheticParticles.SmallestRadiusShare * Size);
        double largest = (type == ParticleType.Bubble ? SyntheticParticles.LargestBubbleRadiusShare : SyntheticParticles.LargestRadiusShare) * Size;
        var toDrawn = new List<double>();
        var toRendered = new List<double>();
        int nothing = 0, cut = 0;
        for (int seed = 1; seed <= Seeds; seed++)
        {
            using SyntheticParticle particle = SyntheticParticles.Draw(type, Size, Um, seed);
            using Image<Rgb24> image = particle.Image.CloneAs<Rgb24>();
            ParticleMeasurements? measured = ParticleMorphology.Measure(image, Um);
            double rendered = 2 * Math.Clamp(particle.EcdMicrometres / 2 / Um, smallest, largest) * Um;
            double ecd = measured?.EcdMicrometres ?? 0;
            if (measured is null) nothing++;
            else if (measured.TouchesEdge) cut++;
            toDrawn.Add(ecd / particle.EcdMicrometres);
            toRendered.Add(ecd / rendered);
        }
        double drawnMedian = Median(toDrawn), renderedMedian = Median(toRendered);
        string report = $"{type}: median measured/drawn ECD {drawnMedian:0.00}, measured/rendered {renderedMedian:0.00} " +
            $"({nothing} null, {cut} cut by the frame; measured/rendered: {string.Join(" ", toRendered.Order().Select(r => r.ToString("0.00")))})";
        output.WriteLine(report);

        Assert.True(drawnMedian is >= 0.6 and <= 1.6, report);
        Assert.True(renderedMedian >= lowRendered && renderedMedian <= highRendered, report);
        // Only a bubble larger than the frame can leave too little background on the border to measure against.
        Assert.True(type == ParticleType.Bubble ? nothing <= 4 : nothing == 0, report);
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
