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
    /// and adds camera noise, all as <paramref name="look"/> says (<see cref="InstrumentLook.Default"/> when null).
    /// </summary>
    /// <param name="defocusSigma">
    /// Above 0, the particle is out of focus: besides the blur, a halo of this spread (pixels) rings it, bright outside a
    /// dark particle and darker inside, as a defocused FIM image shows (DOMAIN.md: "blurred, with a halo").
    /// </param>
    public Image<L8> Expose(Random random, double blurSigma, InstrumentLook? look = null, double defocusSigma = 0)
    {
        look ??= InstrumentLook.Default;
        float[] pixels = AveragePixels();
        // The default look takes exactly its old arithmetic (no quadrature sum, no contrast pass), so that default
        // images stay byte for byte what the demo and the training figures were made from.
        double sigma = look.ExtraBlurSigma > 0 ? Math.Sqrt(blurSigma * blurSigma + look.ExtraBlurSigma * look.ExtraBlurSigma) : blurSigma;
        float[] transmission = Blur(pixels, Size, sigma);
        if (defocusSigma > 0)
        {
            // A difference of two wider Gaussians: where the wider is darker than the less wide (a little outside a
            // dark particle) the image brightens, where it is lighter (inside) it darkens. Both are wider than the
            // focus blur, so the halo rings the particle without sharpening its edge again.
            float[] mid = Blur(pixels, Size, Math.Sqrt(sigma * sigma + defocusSigma * defocusSigma));
            float[] wide = Blur(pixels, Size, Math.Sqrt(sigma * sigma + 4 * defocusSigma * defocusSigma));
            for (int i = 0; i < transmission.Length; i++) transmission[i] += 1.5f * (mid[i] - wide[i]);
        }
        if (look.Contrast != 1)
        {
            for (int i = 0; i < transmission.Length; i++) transmission[i] = (float)Math.Max(0, 1 + look.Contrast * (transmission[i] - 1));
        }

        // Instruments differ in background level; within a frame it drifts a little and is faintly mottled.
        double level = look.BackgroundLow + random.NextDouble() * look.BackgroundSpread;
        double slopeX = (random.NextDouble() * 2 - 1) * look.BackgroundSlope, slopeY = (random.NextDouble() * 2 - 1) * look.BackgroundSlope;
        double noiseSigma = look.NoiseLow + random.NextDouble() * look.NoiseSpread;
        var mottle = new ValueNoise(random.Next(), cellSize: Size / look.MottleCellsPerSide);

        var image = new Image<L8>(Size, Size);
        for (int y = 0; y < Size; y++)
        {
            for (int x = 0; x < Size; x++)
            {
                double background = level + slopeX * (x / (double)Size - 0.5) + slopeY * (y / (double)Size - 0.5)
                    + look.MottleAmplitude * mottle.At(x, y);
                double value = background * transmission[y * Size + x] + noiseSigma * Gaussian(random);
                image[x, y] = new L8((byte)Math.Round(Math.Clamp(value, 0, 1) * 255));
            }
        }
        return image;
    }

    /// <summary>
    /// Moves everything drawn so far towards one side of the frame so that the frame edge cuts off a share
    /// (<paramref name="cutShare"/>, 0 to 1) of the drawing's extent along that axis, as when an instrument's crop box
    /// meets the edge of its field of view. What moves in from the far side is background.
    /// </summary>
    /// <returns>False when nothing has been drawn (an empty canvas stays as it is).</returns>
    public bool CutByFrame(Random random, double cutShare)
    {
        int left = _samplesPerSide, top = _samplesPerSide, right = -1, bottom = -1;
        for (int sy = 0; sy < _samplesPerSide; sy++)
        for (int sx = 0; sx < _samplesPerSide; sx++)
        {
            if (_samples[sy * _samplesPerSide + sx] == 1f) continue;
            left = Math.Min(left, sx); right = Math.Max(right, sx); top = Math.Min(top, sy); bottom = Math.Max(bottom, sy);
        }
        if (right < 0) return false;

        int side = random.Next(4); // 0 left, 1 right, 2 top, 3 bottom
        bool horizontal = side < 2;
        int extent = horizontal ? right - left + 1 : bottom - top + 1;
        int cut = (int)Math.Round(extent * Math.Clamp(cutShare, 0, 1));
        // The shift that puts exactly `cut` samples of the drawing beyond the chosen edge.
        int shift = side switch
        {
            0 => -(left + cut),
            1 => _samplesPerSide - 1 - right + cut,
            2 => -(top + cut),
            _ => _samplesPerSide - 1 - bottom + cut,
        };
        var moved = new float[_samples.Length];
        Array.Fill(moved, 1f);
        for (int sy = 0; sy < _samplesPerSide; sy++)
        for (int sx = 0; sx < _samplesPerSide; sx++)
        {
            int fromX = horizontal ? sx - shift : sx, fromY = horizontal ? sy : sy - shift;
            if (fromX < 0 || fromY < 0 || fromX >= _samplesPerSide || fromY >= _samplesPerSide) continue;
            moved[sy * _samplesPerSide + sx] = _samples[fromY * _samplesPerSide + fromX];
        }
        Array.Copy(moved, _samples, moved.Length);
        return true;
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
