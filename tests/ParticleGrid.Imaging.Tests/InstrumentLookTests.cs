using ParticleGrid.Domain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging.Tests;

/// <summary>Each instrument look and imaging artefact changes what it claims to, measured on the same particles (same seeds).</summary>
public sealed class InstrumentLookTests
{
    private static InstrumentLook Look(string name) => InstrumentLook.TryGet(name, out var look) ? look : throw new ArgumentException(name);

    private static SyntheticParticle Draw(ParticleType type, int seed, InstrumentLook? look = null, ImagingArtefact artefact = ImagingArtefact.None) =>
        SyntheticParticles.Draw(type, 64, look?.MicrometresPerPixel ?? 1.0, seed, look, artefact);

    /// <summary>How much darker than the background the darkest (3 x 3 smoothed, so not a noise pixel) spot is, as a share of it.</summary>
    private static double Contrast(Image<L8> image) => 1 - Pixels.Range(Pixels.Smoothed(image)).Min / Signature.Background(image);

    /// <summary>
    /// The background's texture: the mean difference between border pixels 3 apart on the smoothed image, at the scale
    /// of the mottle's grain; the drift across the frame adds almost nothing over 3 pixels, and smoothing quiets the noise.
    /// </summary>
    private static double BorderSpread(Image<L8> image)
    {
        double[,] s = Pixels.Smoothed(image);
        int w = image.Width, h = image.Height;
        var steps = new List<double>();
        for (int i = 0; i + 3 < w; i++)
        {
            steps.Add(Math.Abs(s[i + 3, 0] - s[i, 0])); steps.Add(Math.Abs(s[i + 3, h - 1] - s[i, h - 1]));
            steps.Add(Math.Abs(s[0, i + 3] - s[0, i])); steps.Add(Math.Abs(s[w - 1, i + 3] - s[w - 1, i]));
        }
        return steps.Average();
    }

    /// <summary>Camera noise: the spread of differences between horizontal neighbours on the border rows.</summary>
    private static double Grain(Image<L8> image)
    {
        var steps = new List<double>();
        foreach (int y in new[] { 0, 1, image.Height - 2, image.Height - 1 })
            for (int x = 0; x + 1 < image.Width; x++) steps.Add(image[x + 1, y].PackedValue - image[x, y].PackedValue);
        return Math.Sqrt(steps.Average(s => s * s));
    }

    [Fact]
    public void Presets_have_unique_names_and_default_is_the_training_look()
    {
        Assert.Equal(InstrumentLook.Presets.Count, InstrumentLook.Presets.Select(p => p.Name).Distinct().Count());
        Assert.Same(InstrumentLook.Default, InstrumentLook.Presets[0]);
        Assert.True(InstrumentLook.TryGet("Blurred", out _));
        Assert.False(InstrumentLook.TryGet("sepia", out _));
        using SyntheticParticle implicitDefault = SyntheticParticles.Draw(ParticleType.Glass, 64, 1.0, 3);
        using SyntheticParticle explicitDefault = SyntheticParticles.Draw(ParticleType.Glass, 64, 1.0, 3, InstrumentLook.Default);
        Assert.Equal(Pixels.Of(implicitDefault.Image), Pixels.Of(explicitDefault.Image));
    }

    [Fact]
    public void Every_look_is_deterministic_for_a_seed_and_keeps_the_particle()
    {
        foreach (InstrumentLook look in InstrumentLook.Presets)
        {
            using SyntheticParticle first = Draw(ParticleType.Protein, 11, look), again = Draw(ParticleType.Protein, 11, look);
            Assert.Equal(Pixels.Of(first.Image), Pixels.Of(again.Image));
            using SyntheticParticle plain = Draw(ParticleType.Protein, 11);
            Assert.Equal(plain.EcdMicrometres, first.EcdMicrometres); // the same particle, drawn by another instrument
            // (A pixel-size look leaves a particle at the frame's minimum size as it was: that one is tested below.)
            if (!look.IsDefault && look.MicrometresPerPixel is null) Assert.NotEqual(Pixels.Of(plain.Image), Pixels.Of(first.Image));
        }
    }

    [Fact]
    public void Dim_background_lowers_the_background_level()
    {
        double[] plain = [.. Enumerable.Range(1, 20).Select(seed => { using var p = Draw(ParticleType.Glass, seed); return Signature.Background(p.Image); })];
        double[] dim = [.. Enumerable.Range(1, 20).Select(seed => { using var p = Draw(ParticleType.Glass, seed, Look("dim-background")); return Signature.Background(p.Image); })];
        Assert.All(dim, level => Assert.InRange(level, 0.33 * 255, 0.49 * 255));
        Assert.True(dim.Max() < plain.Min(), $"dim {dim.Min():0}..{dim.Max():0}, default {plain.Min():0}..{plain.Max():0}");
    }

    [Fact]
    public void Textured_background_is_more_uneven()
    {
        var ratios = new List<double>();
        for (int seed = 1; seed <= 20; seed++)
        {
            using SyntheticParticle plain = Draw(ParticleType.Glass, seed), textured = Draw(ParticleType.Glass, seed, Look("textured-background"));
            ratios.Add(BorderSpread(textured.Image) / BorderSpread(plain.Image));
        }
        // The background's drift across the frame is the same in both, so the ratio is diluted on frames that drift most.
        Assert.True(ratios.All(r => r > 1.3) && ratios.Average() > 2, $"border spread, textured over default: {string.Join(", ", ratios.Select(r => r.ToString("0.00")))}");
    }

    [Fact]
    public void High_and_low_contrast_move_the_particle_away_from_and_towards_the_background()
    {
        for (int seed = 1; seed <= 20; seed++)
        {
            // Protein: faint enough that 1.6x its contrast stays off the black end of the scale.
            using SyntheticParticle plain = Draw(ParticleType.Protein, seed), high = Draw(ParticleType.Protein, seed, Look("high-contrast")),
                low = Draw(ParticleType.Protein, seed, Look("low-contrast"));
            double c = Contrast(plain.Image), ch = Contrast(high.Image), cl = Contrast(low.Image);
            Assert.True(ch > 1.3 * c && cl < 0.8 * c, $"seed {seed}: contrast low {cl:0.00}, default {c:0.00}, high {ch:0.00}");
        }
    }

    [Fact]
    public void Blurred_softens_every_edge()
    {
        for (int seed = 1; seed <= 20; seed++)
        {
            using SyntheticParticle plain = Draw(ParticleType.Glass, seed), blurred = Draw(ParticleType.Glass, seed, Look("blurred"));
            double sharp = Pixels.SteepTail(plain.Image), soft = Pixels.SteepTail(blurred.Image);
            Assert.True(soft < 0.7 * sharp, $"seed {seed}: steepest 1 % of steps {soft:0.0} vs {sharp:0.0} grey levels");
        }
    }

    [Fact]
    public void Coarse_pixels_make_the_same_particle_fewer_pixels_across()
    {
        InstrumentLook coarse = Look("coarse-pixels");
        Assert.Equal(1.6, coarse.MicrometresPerPixel);
        int compared = 0;
        for (int seed = 1; seed <= 120 && compared < 12; seed++)
        {
            using SyntheticParticle plain = Draw(ParticleType.Glass, seed), shifted = Draw(ParticleType.Glass, seed, coarse);
            // Only particles drawn at their own size at both scales (neither the frame's minimum nor its maximum).
            if (plain.EcdMicrometres is < 30 or > 50) continue;
            compared++;
            double ecdPlain = Measure(plain.Image).EcdMicrometres, ecdCoarse = Measure(shifted.Image).EcdMicrometres; // in pixels: measured at 1 um/px
            Assert.InRange(ecdCoarse / ecdPlain, 1 / 1.6 * 0.85, 1 / 1.6 * 1.15);
        }
        Assert.True(compared >= 8, $"only {compared} glass particles of 30-50 um in 120 seeds");
    }

    [Fact]
    public void Noisy_adds_camera_grain()
    {
        for (int seed = 1; seed <= 20; seed++)
        {
            using SyntheticParticle plain = Draw(ParticleType.Glass, seed), noisy = Draw(ParticleType.Glass, seed, Look("noisy"));
            Assert.True(Grain(noisy.Image) > 1.5 * Grain(plain.Image), $"seed {seed}: grain {Grain(noisy.Image):0.0} vs {Grain(plain.Image):0.0}");
        }
    }

    [Theory]
    [InlineData(ParticleType.SiliconeOil)]
    [InlineData(ParticleType.Glass)]
    public void Cut_by_frame_particles_touch_the_frame_and_keep_their_size(ParticleType type)
    {
        for (int seed = 1; seed <= 20; seed++)
        {
            using SyntheticParticle plain = Draw(type, seed), cut = Draw(type, seed, artefact: ImagingArtefact.CutByFrame);
            ParticleMeasurements whole = Measure(plain.Image), part = Measure(cut.Image);
            Assert.True(part.TouchesEdge, $"{type} seed {seed}: not cut");
            Assert.True(part.AreaPixels < whole.AreaPixels, $"{type} seed {seed}: area {part.AreaPixels} of {whole.AreaPixels}");
            Assert.Equal(plain.EcdMicrometres, cut.EcdMicrometres); // the particle is the same, in scope
        }
    }

    [Fact]
    public void Out_of_focus_particles_are_blurred_with_a_bright_halo()
    {
        for (int seed = 1; seed <= 20; seed++)
        {
            // The artefact draws from its own stream, so background and camera noise are the same pixel for pixel and
            // the difference between the two images is the defocus alone. Glass: dark, so its halo is plain to see.
            using SyntheticParticle plain = Draw(ParticleType.Glass, seed), defocused = Draw(ParticleType.Glass, seed, artefact: ImagingArtefact.OutOfFocus);
            double background = Signature.Background(plain.Image);
            byte[] before = Pixels.Of(plain.Image), after = Pixels.Of(defocused.Image);
            int brightening = Enumerable.Range(0, before.Length).Max(i => after[i] - before[i]);
            double sharp = Pixels.SteepTail(plain.Image), soft = Pixels.SteepTail(defocused.Image);
            Assert.True(soft < 0.85 * sharp, $"seed {seed}: steepest 1 % of steps {soft:0.0} vs {sharp:0.0} in focus");
            Assert.True(brightening > 0.08 * background, $"seed {seed}: halo brightens by at most {brightening} grey levels on {background:0}");
        }
    }

    [Fact]
    public void A_shifted_data_set_keeps_the_class_folders_and_says_what_shifted()
    {
        using var folder = new TemporaryFolder();
        SyntheticDatasetSummary summary = SyntheticParticles.WriteDataset(folder.File("set"), perClass: 2, seed: 1, imageSize: 32, look: Look("coarse-pixels"), artefact: ImagingArtefact.OutOfFocus);
        Assert.Equal(["bubble", "glass", "protein", "silicone_oil"], Directory.GetDirectories(summary.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(1.6, summary.MicrometresPerPixel);
        string first = File.ReadLines(Path.Combine(summary.Directory, "synthetic.csv")).First();
        Assert.Contains("instrument look coarse-pixels", first);
        Assert.Contains("imaging artefact out-of-focus", first);
        // An explicit scale wins over the look's pixel size.
        Assert.Equal(0.8, SyntheticParticles.WriteDataset(folder.File("other"), perClass: 1, seed: 1, imageSize: 32, micrometresPerPixel: 0.8, look: Look("coarse-pixels")).MicrometresPerPixel);
    }

    private static ParticleMeasurements Measure(Image<L8> image)
    {
        using Image<Rgb24> rgb = image.CloneAs<Rgb24>();
        return ParticleMorphology.Measure(rgb, 1.0) ?? throw new Xunit.Sdk.XunitException("nothing measured");
    }
}
