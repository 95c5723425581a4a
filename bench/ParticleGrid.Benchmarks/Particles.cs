using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Benchmarks;

/// <summary>The synthetic particle images the benchmarks work on: the same pixels on every run.</summary>
internal static class Particles
{
    /// <summary>A protein aggregate (the most textured type) of <paramref name="side"/> x <paramref name="side"/> pixels at 1 um/pixel, as RGB.</summary>
    public static Image<Rgb24> Rgb(int side, int seed = 7)
    {
        using var particle = SyntheticParticles.Draw(ParticleType.Protein, side, 1.0, seed);
        return particle.Image.CloneAs<Rgb24>();
    }

    /// <summary>The same particle as the 8-bit grey PNG an instrument export or the synthetic data set holds.</summary>
    public static byte[] Png(int side, int seed = 7)
    {
        using var particle = SyntheticParticles.Draw(ParticleType.Protein, side, 1.0, seed);
        return particle.ToPng();
    }
}
