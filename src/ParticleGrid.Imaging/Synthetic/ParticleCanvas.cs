using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging;

/// <summary>
/// A square drawing surface for one synthetic particle, sampled <see cref="Supersampling"/> x <see cref="Supersampling"/>
/// times per pixel so that edges come out anti-aliased, as optics render them. It holds the particle's
/// transmission relative to the background: 1 is background, below 1 darker (absorbing or refracting light away),
/// above 1 brighter (focused light: halos, bright centres and facets).
/// Shapes are painted in pixel coordinates (0..Size along each axis); a later shape covers an earlier one.
/// </summary>
internal sealed class ParticleCanvas
{
    public const int Supersampling = 4;

    private readonly float[] _samples;
    private readonly int _samplesPerSide;

    public ParticleCanvas(int size)
    {
        Size = size;
        _samplesPerSide = size * Supersampling;
        _samples = new float[_samplesPerSide * _samplesPerSide];
        Array.Fill(_samples, 1f);
    }

    /// <summary>The side of the finished image, in pixels.</summary>
    public int Size { get; }

    /// <summary>
    /// Evaluates <paramref name="shade"/> at every sample inside the box (pixel coordinates, clipped to the canvas)
    /// and sets the sample to the returned transmission; null leaves the sample as it is (outside the shape).
    /// </summary>
    public void Paint(double left, double top, double right, double bottom, Func<double, double, double?> shade)
    {
        int x0 = Math.Max(0, (int)Math.Floor(left * Supersampling));
        int y0 = Math.Max(0, (int)Math.Floor(top * Supersampling));
        int x1 = Math.Min(_samplesPerSide - 1, (int)Math.Ceiling(right * Supersampling));
        int y1 = Math.Min(_samplesPerSide - 1, (int)Math.Ceiling(bottom * Supersampling));
        for (int sy = y0; sy <= y1; sy++)
        {
            double y = (sy + 0.5) / Supersampling;
            for (int sx = x0; sx <= x1; sx++)
            {
                double x = (sx + 0.5) / Supersampling;
                if (shade(x, y) is double value) _samples[sy * _samplesPerSide + sx] = (float)value;
            }
        }
    }

    /// <summary>Paints around a centre: <paramref name="shade"/> gets the offset (dx, dy) from it, within <paramref name="reach"/> pixels.</summary>
    public void PaintAround(double centreX, double centreY, double reach, Func<double, double, double?> shade) =>
        Paint(centreX - reach, centreY - reach, centreX + reach, centreY + reach, (x, y) => shade(x - centreX, y - centreY));

    /// <summary>
    /// Turns the transmission into an 8-bit grey FIM-like image: averages the samples of each pixel, blurs by the
    /// optics' point spread (<paramref name="blurSigma"/> pixels), lays it on a light grey background of uneven level
    /// and adds camera noise.
    /// </summary>
    public Image<L8> Expose(Random random, double blurSigma)
    {
        float[] transmission = Blur(AveragePixels(), Size, blurSigma);

        // Instruments differ in background level; within a frame it drifts a little and is faintly mottled.
        double level = 0.62 + random.NextDouble() * 0.24;
        double slopeX = (random.NextDouble() * 2 - 1) * 0.04, slopeY = (random.NextDouble() * 2 - 1) * 0.04;
        double noiseSigma = 0.006 + random.NextDouble() * 0.014;
        var mottle = new ValueNoise(random.Next(), cellSize: Size / 4.0);

        var image = new Image<L8>(Size, Size);
        for (int y = 0; y < Size; y++)
        {
            for (int x = 0; x < Size; x++)
            {
                double background = level + slopeX * (x / (double)Size - 0.5) + slopeY * (y / (double)Size - 0.5)
                    + 0.01 * mottle.At(x, y);
                double value = background * transmission[y * Size + x] + noiseSigma * Gaussian(random);
                image[x, y] = new L8((byte)Math.Round(Math.Clamp(value, 0, 1) * 255));
            }
        }
        return image;
    }

    private float[] AveragePixels()
    {
        var pixels = new float[Size * Size];
        const float Weight = 1f / (Supersampling * Supersampling);
        for (int sy = 0; sy < _samplesPerSide; sy++)
        {
            for (int sx = 0; sx < _samplesPerSide; sx++)
            {
                pixels[sy / Supersampling * Size + sx / Supersampling] += _samples[sy * _samplesPerSide + sx] * Weight;
            }
        }
        return pixels;
    }

    /// <summary>A separable Gaussian blur, repeating edge pixels; returns the input when sigma is negligible.</summary>
    private static float[] Blur(float[] pixels, int size, double sigma)
    {
        if (sigma < 0.05) return pixels;
        int radius = (int)Math.Ceiling(3 * sigma);
        double[] kernel = [.. Enumerable.Range(-radius, 2 * radius + 1).Select(i => Math.Exp(-i * i / (2 * sigma * sigma)))];
        double total = kernel.Sum();
        var horizontal = new float[pixels.Length];
        var result = new float[pixels.Length];
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            double sum = 0;
            for (int k = -radius; k <= radius; k++) sum += kernel[k + radius] * pixels[y * size + Math.Clamp(x + k, 0, size - 1)];
            horizontal[y * size + x] = (float)(sum / total);
        }
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            double sum = 0;
            for (int k = -radius; k <= radius; k++) sum += kernel[k + radius] * horizontal[Math.Clamp(y + k, 0, size - 1) * size + x];
            result[y * size + x] = (float)(sum / total);
        }
        return result;
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
