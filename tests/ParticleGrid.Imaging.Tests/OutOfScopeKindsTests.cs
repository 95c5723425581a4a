using ParticleGrid.Domain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging.Tests;

/// <summary>The out-of-scope kinds look as DOMAIN.md describes them, measured on the images, and never share a folder with training data.</summary>
public sealed class OutOfScopeKindsTests : IDisposable
{
    private readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static OutOfScopeParticle Draw(OutOfScopeKind kind, int seed) =>
        SyntheticParticles.DrawOutOfScope(kind, 64, 1.0, SyntheticParticles.OutOfScopeSeed(5, kind, seed));

    private static ParticleMeasurements Measure(Image<L8> image)
    {
        using Image<Rgb24> rgb = image.CloneAs<Rgb24>();
        return ParticleMorphology.Measure(rgb, 1.0) ?? throw new Xunit.Sdk.XunitException("nothing measured");
    }

    [Theory]
    [InlineData(OutOfScopeKind.Fibre)]
    [InlineData(OutOfScopeKind.Schlieren)]
    [InlineData(OutOfScopeKind.Debris)]
    [InlineData(OutOfScopeKind.Agglomerate)]
    public void Drawing_is_deterministic_for_a_seed(OutOfScopeKind kind)
    {
        using OutOfScopeParticle first = SyntheticParticles.DrawOutOfScope(kind, 64, 1.0, 77);
        using OutOfScopeParticle again = SyntheticParticles.DrawOutOfScope(kind, 64, 1.0, 77);
        using OutOfScopeParticle other = SyntheticParticles.DrawOutOfScope(kind, 64, 1.0, 78);
        Assert.Equal(Pixels.Of(first.Image), Pixels.Of(again.Image));
        Assert.NotEqual(Pixels.Of(first.Image), Pixels.Of(other.Image));
        Assert.Equal((kind, first.EcdMicrometres), (again.Kind, again.EcdMicrometres));
    }

    [Fact]
    public void Fibres_measure_an_aspect_ratio_above_5()
    {
        // The morphology's aspect ratio is minor over major axis of the inertia ellipse: above 5 : 1 is below 0.2.
        for (int seed = 1; seed <= 60; seed++)
        {
            using OutOfScopeParticle fibre = Draw(OutOfScopeKind.Fibre, seed);
            ParticleMeasurements measured = Measure(fibre.Image);
            Assert.True(measured.AspectRatio < 0.2, $"seed {seed}: aspect ratio 1 : {1 / measured.AspectRatio:0.0}");
        }
    }

    [Fact]
    public void Schlieren_are_faint_soft_both_lighter_and_darker_and_run_along_the_flow()
    {
        double steepestGlass = Enumerable.Range(1, 20).Min(seed =>
        {
            using SyntheticParticle glass = SyntheticParticles.Draw(ParticleType.Glass, 64, 1.0, seed);
            return Pixels.SteepestSmoothedStep(glass.Image) / Signature.Background(glass.Image);
        });
        var spreads = new List<string>();
        var ratios = new List<double>();
        for (int seed = 1; seed <= 40; seed++)
        {
            using OutOfScopeParticle streak = Draw(OutOfScopeKind.Schlieren, seed);
            double background = Signature.Background(streak.Image);
            double[,] smooth = Pixels.Smoothed(streak.Image);
            (double darkest, double brightest) = Pixels.Range(smooth);
            string where = $"seed {seed}: {darkest / background:0.00}..{brightest / background:0.00} of background";
            // Faint: within 12 % of the background either way (protein, the faintest type, is at least 10 % darker
            // and never brighter); refractive: both lighter and darker parts.
            Assert.True(darkest > 0.88 * background && brightest < 1.12 * background, where);
            Assert.True(darkest < 0.985 * background && brightest > 1.015 * background, where);
            // No sharp edge: its steepest step is a fraction of the softest glass edge's.
            double steepest = Pixels.SteepestSmoothedStep(streak.Image) / background;
            Assert.True(steepest < 0.4 * steepestGlass, $"seed {seed}: steepest step {steepest:0.000} of background, glass's {steepestGlass:0.000}");
            // Along the flow (the frame's vertical): the deviation spreads further up and down than across.
            (double across, double along) = Pixels.Spread(smooth, background, 0.02);
            spreads.Add($"{seed}:{along:0.0}/{across:0.0}");
            ratios.Add(along / across);
        }
        // The background's mottle and noise blur the measure on the faintest streaks: 9 in 10, and typically 1.5 : 1.
        string all = $"spread along / across the flow: {string.Join(", ", spreads)}";
        Assert.True(ratios.Count(r => r > 1.1) >= 0.9 * ratios.Count, all);
        Assert.True(ratios.Order().ElementAt(ratios.Count / 2) > 1.5, all);
    }

    [Fact]
    public void Debris_is_opaque_dark_and_has_no_bright_facets()
    {
        for (int seed = 1; seed <= 40; seed++)
        {
            using OutOfScopeParticle flake = Draw(OutOfScopeKind.Debris, seed);
            double background = Signature.Background(flake.Image);
            ParticleMeasurements measured = Measure(flake.Image);
            (_, double brightest) = Pixels.Range(Pixels.Smoothed(flake.Image));
            Assert.True(measured.MeanIntensity < 0.4 * background, $"seed {seed}: mean {measured.MeanIntensity:0} on background {background:0}");
            Assert.True(brightest < 1.08 * background, $"seed {seed}: brightest {brightest:0} on background {background:0}");
        }
    }

    [Fact]
    public void Agglomerates_are_several_particles_stuck_together()
    {
        var counts = new List<int>();
        for (int seed = 1; seed <= 40; seed++)
        {
            using OutOfScopeParticle cluster = Draw(OutOfScopeKind.Agglomerate, seed);
            counts.Add(Pixels.MembersAfterErosion(cluster.Image, Signature.Background(cluster.Image)));
        }
        // Members packed tight all round fill their gaps, and the measure then sees one body: allow 1 in 20.
        string all = $"members per agglomerate: {string.Join(", ", counts)}";
        Assert.True(counts.Count(n => n >= 2) >= 0.95 * counts.Count, all);
        Assert.True(counts.Average() >= 2.5, all);

        // The same measure finds one member in a single droplet or shard: it counts members, not pixels.
        foreach (ParticleType type in new[] { ParticleType.Glass, ParticleType.Bubble })
        {
            using SyntheticParticle single = SyntheticParticles.Draw(type, 64, 0.3, 4);
            Assert.Equal(1, Pixels.MembersAfterErosion(single.Image, Signature.Background(single.Image)));
        }
    }

    [Fact]
    public void An_out_of_scope_set_has_one_folder_per_kind_and_says_what_it_is_for()
    {
        OutOfScopeSetSummary summary = SyntheticParticles.WriteOutOfScopeSet(_folder.File("oos"), perKind: 3, seed: 4, imageSize: 32);
        Assert.Equal(["agglomerate", "debris", "fibre", "schlieren"],
            Directory.GetDirectories(summary.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["fibre_00001.png", "fibre_00002.png", "fibre_00003.png"],
            Directory.GetFiles(Path.Combine(summary.Directory, "fibre")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("never train", File.ReadAllText(Path.Combine(summary.Directory, SyntheticParticles.OutOfScopeMarker)));
        string[] csv = File.ReadAllLines(Path.Combine(summary.Directory, "synthetic.csv"));
        Assert.StartsWith("# SYNTHETIC OUT-OF-SCOPE", csv[0]);
        Assert.Equal(2 + 12, csv.Length);

        SyntheticParticles.WriteOutOfScopeSet(_folder.File("again"), perKind: 3, seed: 4, imageSize: 32);
        Assert.Equal(DefaultLookPinTests.HashOf(summary.Directory), DefaultLookPinTests.HashOf(_folder.File("again")));
    }

    [Fact]
    public void Out_of_scope_and_in_scope_images_never_share_a_folder()
    {
        string training = _folder.File("training");
        SyntheticParticles.WriteDataset(training, perClass: 2, seed: 1, imageSize: 32);
        IOException intoTraining = Assert.Throws<IOException>(() => SyntheticParticles.WriteOutOfScopeSet(training, perKind: 2, seed: 1, imageSize: 32));
        Assert.Contains("never share a folder with training data", intoTraining.Message);
        Assert.False(Directory.Exists(Path.Combine(training, "fibre")));

        string outOfScope = _folder.File("oos");
        SyntheticParticles.WriteOutOfScopeSet(outOfScope, perKind: 2, seed: 1, imageSize: 32);
        IOException intoTests = Assert.Throws<IOException>(() => SyntheticParticles.WriteDataset(outOfScope, perClass: 2, seed: 1, imageSize: 32));
        Assert.Contains("out-of-scope folder", intoTests.Message);
        Assert.False(Directory.Exists(Path.Combine(outOfScope, "bubble")));

        // A folder renamed by hand is still recognised.
        string handMade = _folder.File("hand");
        Directory.CreateDirectory(Path.Combine(handMade, "Fibres"));
        Assert.Throws<IOException>(() => SyntheticParticles.WriteDataset(handMade, perClass: 2, seed: 1, imageSize: 32));
    }

    [Fact]
    public void Fibre_as_a_particle_type_is_drawn_as_the_out_of_scope_fibre()
    {
        using SyntheticParticle asType = SyntheticParticles.Draw(ParticleType.Fibre, 64, 1.0, 9);
        using OutOfScopeParticle asKind = SyntheticParticles.DrawOutOfScope(OutOfScopeKind.Fibre, 64, 1.0, 9);
        Assert.Equal(Pixels.Of(asKind.Image), Pixels.Of(asType.Image));
    }
}

/// <summary>Pixel statistics for the out-of-scope kinds and the looks.</summary>
internal static class Pixels
{
    public static byte[] Of(Image<L8> image)
    {
        var pixels = new byte[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    /// <summary>A 3 x 3 box average (edge pixels repeated), which keeps camera noise from passing for structure.</summary>
    public static double[,] Smoothed(Image<L8> image)
    {
        int w = image.Width, h = image.Height;
        var result = new double[w, h];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            double sum = 0;
            for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                sum += image[Math.Clamp(x + dx, 0, w - 1), Math.Clamp(y + dy, 0, h - 1)].PackedValue;
            result[x, y] = sum / 9;
        }
        return result;
    }

    public static (double Min, double Max) Range(double[,] values) => (values.Cast<double>().Min(), values.Cast<double>().Max());

    /// <summary>The largest difference between neighbouring pixels of the smoothed image: how sharp the sharpest edge is.</summary>
    public static double SteepestSmoothedStep(Image<L8> image) => Steps(image).Max();

    /// <summary>
    /// The mean of the steepest 1 % of differences between neighbouring pixels, unsmoothed (smoothing would cap a
    /// sharp edge at its own width): a blur statistic. Camera noise of a few grey levels stays below edges' tens.
    /// </summary>
    public static double SteepTail(Image<L8> image)
    {
        var raw = new double[image.Width, image.Height];
        for (int y = 0; y < image.Height; y++) for (int x = 0; x < image.Width; x++) raw[x, y] = image[x, y].PackedValue;
        double[] steps = [.. Steps(raw).OrderDescending()];
        return steps.Take(Math.Max(1, steps.Length / 100)).Average();
    }

    private static IEnumerable<double> Steps(Image<L8> image) => Steps(Smoothed(image));

    private static IEnumerable<double> Steps(double[,] s)
    {
        int w = s.GetLength(0), h = s.GetLength(1);
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            if (x + 1 < w) yield return Math.Abs(s[x + 1, y] - s[x, y]);
            if (y + 1 < h) yield return Math.Abs(s[x, y + 1] - s[x, y]);
        }
    }

    /// <summary>
    /// The deviation-weighted standard deviations across (x) and along (y) the frame of what differs from the
    /// background by more than <paramref name="share"/> of it. The background is a plane fitted to the border, so that
    /// an instrument's drift across the frame does not count as a streak.
    /// </summary>
    public static (double Across, double Along) Spread(double[,] smooth, double background, double share)
    {
        int w = smooth.GetLength(0), h = smooth.GetLength(1);
        // Least squares a + b x + c y on the border pixels (centred coordinates keep the normal equations diagonal-ish).
        var border = new List<(double X, double Y, double V)>();
        for (int x = 0; x < w; x++) { border.Add((x, 0, smooth[x, 0])); border.Add((x, h - 1, smooth[x, h - 1])); }
        for (int y = 1; y < h - 1; y++) { border.Add((0, y, smooth[0, y])); border.Add((w - 1, y, smooth[w - 1, y])); }
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        double a = border.Average(p => p.V);
        double b = border.Sum(p => (p.X - cx) * (p.V - a)) / border.Sum(p => (p.X - cx) * (p.X - cx));
        double c = border.Sum(p => (p.Y - cy) * (p.V - a)) / border.Sum(p => (p.Y - cy) * (p.Y - cy));

        double total = 0, mx = 0, my = 0;
        var points = new List<(int X, int Y, double W)>();
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            double plane = a + b * (x - cx) + c * (y - cy);
            // Soft threshold: the background's own mottle (a per cent or so) weighs nothing.
            double weight = Math.Abs(smooth[x, y] - plane) - share * background;
            if (weight <= 0) continue;
            points.Add((x, y, weight));
            total += weight; mx += x * weight; my += y * weight;
        }
        mx /= total; my /= total;
        double xx = points.Sum(p => p.W * (p.X - mx) * (p.X - mx)) / total, yy = points.Sum(p => p.W * (p.Y - my) * (p.Y - my)) / total;
        return (Math.Sqrt(xx), Math.Sqrt(yy));
    }

    /// <summary>
    /// How many particles make up what the frame shows: the pixels 8 % or more off the background, holes filled
    /// (a droplet's bright centre inside its ring), then eroded (3 x 3) pass after pass until nothing is left; members
    /// stuck together by a neck narrower than themselves come apart on the way. The most 8-connected pieces of at least
    /// 3 pixels seen after any pass is the count. A convex particle never splits, so it counts as one.
    /// </summary>
    public static int MembersAfterErosion(Image<L8> image, double background)
    {
        int w = image.Width, h = image.Height;
        var mask = new bool[w, h];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            mask[x, y] = Math.Abs(image[x, y].PackedValue - background) > 0.08 * background;

        // Holes: background not reachable from the frame edge through 4-neighbours.
        var outside = new bool[w, h];
        var stack = new Stack<(int X, int Y)>();
        for (int x = 0; x < w; x++) { stack.Push((x, 0)); stack.Push((x, h - 1)); }
        for (int y = 0; y < h; y++) { stack.Push((0, y)); stack.Push((w - 1, y)); }
        while (stack.TryPop(out var p))
        {
            if (p.X < 0 || p.Y < 0 || p.X >= w || p.Y >= h || outside[p.X, p.Y] || mask[p.X, p.Y]) continue;
            outside[p.X, p.Y] = true;
            stack.Push((p.X + 1, p.Y)); stack.Push((p.X - 1, p.Y)); stack.Push((p.X, p.Y + 1)); stack.Push((p.X, p.Y - 1));
        }
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) mask[x, y] = !outside[x, y];

        int most = 0;
        while (true)
        {
            int pieces = Pieces(mask, w, h, stack);
            most = Math.Max(most, pieces);
            if (pieces == 0) return most;
            var eroded = new bool[w, h];
            for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++)
            {
                bool all = true;
                for (int dy = -1; dy <= 1 && all; dy++) for (int dx = -1; dx <= 1 && all; dx++) all = mask[x + dx, y + dy];
                eroded[x, y] = all;
            }
            mask = eroded;
        }
    }

    private static int Pieces(bool[,] mask, int w, int h, Stack<(int X, int Y)> stack)
    {
        int members = 0;
        var seen = new bool[w, h];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            if (!mask[x, y] || seen[x, y]) continue;
            int size = 0;
            stack.Push((x, y));
            while (stack.TryPop(out var p))
            {
                if (p.X < 0 || p.Y < 0 || p.X >= w || p.Y >= h || seen[p.X, p.Y] || !mask[p.X, p.Y]) continue;
                seen[p.X, p.Y] = true;
                size++;
                for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) stack.Push((p.X + dx, p.Y + dy));
            }
            if (size >= 3) members++;
        }
        return members;
    }
}
