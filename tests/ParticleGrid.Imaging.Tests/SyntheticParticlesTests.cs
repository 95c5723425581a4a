using ParticleGrid.Domain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging.Tests;

public sealed class SyntheticParticlesTests
{
    private static byte[] Pixels(Image<L8> image)
    {
        var pixels = new byte[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    [Theory]
    [InlineData(ParticleType.Bubble)]
    [InlineData(ParticleType.SiliconeOil)]
    [InlineData(ParticleType.Glass)]
    [InlineData(ParticleType.Protein)]
    [InlineData(ParticleType.Fibre)]
    public void Drawing_is_deterministic_for_a_seed(ParticleType type)
    {
        using SyntheticParticle first = SyntheticParticles.Draw(type, 64, 1.0, 1234);
        using SyntheticParticle again = SyntheticParticles.Draw(type, 64, 1.0, 1234);
        using SyntheticParticle other = SyntheticParticles.Draw(type, 64, 1.0, 1235);

        Assert.Equal(Pixels(first.Image), Pixels(again.Image));
        Assert.Equal(first.EcdMicrometres, again.EcdMicrometres);
        Assert.NotEqual(Pixels(first.Image), Pixels(other.Image));
        Assert.Equal((64, 64), (first.Image.Width, first.Image.Height));
        Assert.Equal(type, first.Type);
    }

    [Theory]
    [InlineData(ParticleType.Bubble, 3, 100)]
    [InlineData(ParticleType.SiliconeOil, 2, 40)]
    [InlineData(ParticleType.Glass, 3, 75)]
    [InlineData(ParticleType.Protein, 2, 100)]
    public void Sizes_spread_over_the_types_range(ParticleType type, double low, double high)
    {
        double[] ecd = [.. Enumerable.Range(0, 90).Select(seed => { using var p = SyntheticParticles.Draw(type, 16, 1.0, seed); return p.EcdMicrometres; })];
        Assert.All(ecd, d => Assert.InRange(d, low, high));
        // Log-uniform: about a third in each third of the log range.
        double third = Math.Pow(high / low, 1.0 / 3);
        Assert.InRange(ecd.Count(d => d < low * third), 15, 45);
        Assert.InRange(ecd.Count(d => d > high / third), 15, 45);
    }

    [Fact]
    public void The_background_level_varies_between_images()
    {
        int[] levels = [.. Enumerable.Range(0, 40).Select(seed =>
        {
            using var p = SyntheticParticles.Draw(ParticleType.Glass, 64, 1.0, seed);
            return (int)Signature.Background(p.Image);
        })];
        Assert.True(levels.Max() - levels.Min() > 30, $"background levels {levels.Min()}..{levels.Max()}");
        Assert.All(levels, level => Assert.InRange(level, 140, 235)); // light grey, as in FIM
    }

    [Fact]
    public void Bubbles_have_a_rim_darker_than_their_grey_centre()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            using Image<L8> image = Signature.Render(seed, (canvas, random) => ParticleShapes.Bubble(canvas, random, 15));
            double background = Signature.Background(image);
            var rim = Signature.Where(image, v => v < 0.45 * background);
            (double cx, double cy) = Signature.Centroid(rim);
            double centre = Signature.MeanAround(image, cx, cy, 1);
            double rimLevel = rim.Average(p => p.Value);
            Assert.True(rimLevel < 0.3 * background, $"seed {seed}: rim {rimLevel:0} on background {background:0}");
            Assert.True(centre > rimLevel + 0.25 * background, $"seed {seed}: centre {centre:0}, rim {rimLevel:0}");
        }
    }

    [Fact]
    public void Small_bubbles_are_a_dark_core_in_a_bright_halo()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            using Image<L8> image = Signature.Render(seed, (canvas, random) => ParticleShapes.Bubble(canvas, random, 3.5));
            double background = Signature.Background(image);
            var core = Signature.Where(image, v => v < 0.5 * background);
            Assert.NotEmpty(core);
            (double cx, double cy) = Signature.Centroid(core);
            double halo = Signature.Where(image, _ => true).Where(p => Signature.Distance(p, cx, cy) is > 3.5 and < 6).Max(p => p.Value);
            Assert.True(halo > 1.1 * background, $"seed {seed}: halo {halo:0} on background {background:0}");
        }
    }

    [Fact]
    public void Silicone_oil_droplets_show_a_bright_centre_inside_a_dark_ring()
    {
        int brightCentres = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            using Image<L8> image = Signature.Render(seed, (canvas, random) => ParticleShapes.SiliconeOil(canvas, random, 10, 3));
            double background = Signature.Background(image);
            var pixels = Signature.Where(image, _ => true);
            // Every droplet, in focus or not, single or doublet, has both brighter and darker parts than the background.
            Assert.True(pixels.Max(p => p.Value) > 1.08 * background && pixels.Min(p => p.Value) < 0.8 * background, $"seed {seed}");

            var ring = Signature.Where(image, v => v < 0.8 * background);
            (double cx, double cy) = Signature.Centroid(ring);
            if (Signature.MeanAround(image, cx, cy, 1) > 1.05 * background) brightCentres++;
        }
        // In focus (the usual case) the centre is bright; out of focus and doublets make up the rest.
        Assert.InRange(brightCentres, 24, 40);
    }

    [Fact]
    public void Protein_has_lower_contrast_than_glass()
    {
        double[] glass = Signature.Contrasts(40, (canvas, random) => ParticleShapes.Glass(canvas, random, 12));
        double[] protein = Signature.Contrasts(40, (canvas, random) => ParticleShapes.Protein(canvas, random, 12));

        // Contrast: how much darker than the background the darkest pixel is, as a share of the background.
        Assert.All(glass, c => Assert.True(c > 0.45, $"glass contrast {c:0.00}"));
        Assert.All(protein, c => Assert.InRange(c, 0.1, 0.45));
        Assert.True(glass.Average() > protein.Average() + 0.25);
    }

    [Theory]
    [InlineData(ParticleType.Bubble)]
    [InlineData(ParticleType.SiliconeOil)]
    [InlineData(ParticleType.Glass)]
    [InlineData(ParticleType.Protein)]
    public void The_smallest_particles_keep_their_contrast_signature(ParticleType type)
    {
        // At 50 um per pixel every particle is below the minimum rendered size.
        for (int seed = 0; seed < 30; seed++)
        {
            using SyntheticParticle particle = SyntheticParticles.Draw(type, 64, 50, seed);
            double background = Signature.Background(particle.Image);
            var pixels = Signature.Where(particle.Image, _ => true);
            double darkest = pixels.Min(p => p.Value) / background, brightest = pixels.Max(p => p.Value) / background;
            string where = $"{type} seed {seed}: darkest {darkest:0.00}, brightest {brightest:0.00}";
            switch (type)
            {
                case ParticleType.Bubble: Assert.True(darkest < 0.35 && brightest > 1.1, where); break;
                case ParticleType.SiliconeOil: Assert.True(darkest < 0.85 && brightest > 1.08, where); break;
                case ParticleType.Glass: Assert.True(darkest < 0.6, where); break;
                default: Assert.True(darkest is > 0.5 and < 0.9 && brightest < 1.15, where); break; // nothing bright beyond noise
            }
        }
    }

    [Fact]
    public void Fibres_are_long_and_thin()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            using SyntheticParticle fibre = SyntheticParticles.Draw(ParticleType.Fibre, 64, 1.0, seed);
            double background = Signature.Background(fibre.Image);
            var strand = Signature.Where(fibre.Image, v => v < 0.8 * background);
            Assert.True(Signature.Elongation(strand) > 4, $"seed {seed}: elongation {Signature.Elongation(strand):0.0}");
        }
    }

    [Fact]
    public void Rejects_unusable_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticParticles.Draw(ParticleType.Glass, 8, 1.0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticParticles.Draw(ParticleType.Glass, 64, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticParticles.Draw((ParticleType)99, 64, 1, 1));
    }

}

/// <summary>Pixel measurements for recognising a particle type's look.</summary>
internal static class Signature
{
    public readonly record struct Pixel(int X, int Y, double Value);

    /// <summary>Draws one particle with an internal shape on a 64-pixel canvas, with a typical 0.5-pixel blur.</summary>
    public static Image<L8> Render(int seed, Action<ParticleCanvas, Random> draw)
    {
        var random = new Random(seed);
        var canvas = new ParticleCanvas(64);
        draw(canvas, random);
        return canvas.Expose(random, 0.5);
    }

    public static double[] Contrasts(int count, Action<ParticleCanvas, Random> draw) =>
        [.. Enumerable.Range(0, count).Select(seed =>
        {
            using Image<L8> image = Render(seed, draw);
            return 1 - Where(image, _ => true).Min(p => p.Value) / Background(image);
        })];

    /// <summary>The median of the border pixels.</summary>
    public static double Background(Image<L8> image)
    {
        var border = Where(image, _ => true)
            .Where(p => p.X == 0 || p.Y == 0 || p.X == image.Width - 1 || p.Y == image.Height - 1)
            .Select(p => p.Value).Order().ToArray();
        return border[border.Length / 2];
    }

    public static List<Pixel> Where(Image<L8> image, Func<double, bool> keep)
    {
        var pixels = new List<Pixel>();
        for (int y = 0; y < image.Height; y++)
        for (int x = 0; x < image.Width; x++)
        {
            double value = image[x, y].PackedValue;
            if (keep(value)) pixels.Add(new Pixel(x, y, value));
        }
        return pixels;
    }

    public static (double X, double Y) Centroid(List<Pixel> pixels) => (pixels.Average(p => p.X), pixels.Average(p => p.Y));

    public static double Distance(Pixel p, double x, double y) => Math.Sqrt((p.X - x) * (p.X - x) + (p.Y - y) * (p.Y - y));

    public static double MeanAround(Image<L8> image, double x, double y, int radius)
    {
        int cx = (int)Math.Round(x), cy = (int)Math.Round(y);
        return Where(image, _ => true).Where(p => Math.Abs(p.X - cx) <= radius && Math.Abs(p.Y - cy) <= radius).Average(p => p.Value);
    }

    /// <summary>The square root of the ratio of the principal second moments: 1 for a disc, large for a strand.</summary>
    public static double Elongation(List<Pixel> pixels)
    {
        (double mx, double my) = Centroid(pixels);
        double xx = pixels.Average(p => (p.X - mx) * (p.X - mx));
        double yy = pixels.Average(p => (p.Y - my) * (p.Y - my));
        double xy = pixels.Average(p => (p.X - mx) * (p.Y - my));
        double spread = Math.Sqrt((xx - yy) * (xx - yy) / 4 + xy * xy);
        double major = (xx + yy) / 2 + spread, minor = (xx + yy) / 2 - spread;
        return Math.Sqrt(major / Math.Max(minor, 1e-6));
    }
}
