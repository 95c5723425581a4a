namespace ParticleGrid.Imaging;

/// <summary>
/// Random changes for training that keep a particle's class: the orientation of a particle in the flow cell is
/// arbitrary (flips, quarter turns), and instruments differ in illumination (brightness, contrast) and focus (blur).
/// Works in place on channel planes (CHW, values in [0, 1]), applying the same change to every channel so grey
/// stays grey. The same <see cref="Random"/> state gives the same result.
/// </summary>
public static class ParticleAugmentation
{
    public const double MaxBrightnessShift = 0.06;
    public const double MinContrast = 0.9;
    public const double MaxContrast = 1.1;
    public const double BlurProbability = 0.1;
    public const double MinBlurSigma = 0.3;
    public const double MaxBlurSigma = 0.6;

    /// <summary>Applies a random flip / quarter turn, brightness and contrast change and, sometimes, a slight blur.</summary>
    /// <param name="planes">Channel planes of <paramref name="size"/> x <paramref name="size"/> each, in [0, 1]; changed in place.</param>
    public static void Apply(float[] planes, int size, Random random)
    {
        ArgumentNullException.ThrowIfNull(planes);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        int plane = size * size;
        if (planes.Length == 0 || planes.Length % plane != 0)
        {
            throw new ArgumentException($"Expected whole planes of {size} x {size} values, got {planes.Length} values.", nameof(planes));
        }

        // Draw every random number up front, in a fixed order, so the result depends only on the generator's state.
        bool flipHorizontal = random.Next(2) == 1;
        bool flipVertical = random.Next(2) == 1;
        int quarterTurns = random.Next(4);
        double brightness = (random.NextDouble() * 2 - 1) * MaxBrightnessShift;
        double contrast = MinContrast + random.NextDouble() * (MaxContrast - MinContrast);
        bool blur = random.NextDouble() < BlurProbability;
        double sigma = MinBlurSigma + random.NextDouble() * (MaxBlurSigma - MinBlurSigma);

        float[] scratch = new float[plane];
        float[] kernel = blur ? GaussianKernel(sigma) : [];
        // Contrast pivots on the mean over all channels so every channel gets the same change.
        double pivot = planes.Average(v => (double)v);

        for (int offset = 0; offset < planes.Length; offset += plane)
        {
            Span<float> channel = planes.AsSpan(offset, plane);
            Reorient(channel, scratch, size, flipHorizontal, flipVertical, quarterTurns);
            foreach (ref float value in channel)
            {
                value = (float)((value - pivot) * contrast + pivot + brightness);
            }
            if (blur) BlurSeparable(channel, scratch, size, kernel);
            foreach (ref float value in channel) value = Math.Clamp(value, 0f, 1f);
        }
    }

    /// <summary>Flips and turns one plane (via <paramref name="scratch"/>): the source pixel of each target pixel.</summary>
    private static void Reorient(Span<float> channel, float[] scratch, int size, bool flipHorizontal, bool flipVertical, int quarterTurns)
    {
        if (!flipHorizontal && !flipVertical && quarterTurns == 0) return;
        channel.CopyTo(scratch);
        int last = size - 1;
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                // Undo the rotation (counter-clockwise quarter turns), then the flips.
                (int sx, int sy) = quarterTurns switch
                {
                    1 => (last - y, x),
                    2 => (last - x, last - y),
                    3 => (y, last - x),
                    _ => (x, y),
                };
                if (flipHorizontal) sx = last - sx;
                if (flipVertical) sy = last - sy;
                channel[y * size + x] = scratch[sy * size + sx];
            }
        }
    }

    private static float[] GaussianKernel(double sigma)
    {
        int radius = (int)Math.Ceiling(3 * sigma);
        var kernel = new float[2 * radius + 1];
        double sum = 0;
        for (int i = -radius; i <= radius; i++)
        {
            double weight = Math.Exp(-i * i / (2 * sigma * sigma));
            kernel[i + radius] = (float)weight;
            sum += weight;
        }
        for (int i = 0; i < kernel.Length; i++) kernel[i] = (float)(kernel[i] / sum);
        return kernel;
    }

    /// <summary>A Gaussian blur as a horizontal then a vertical pass, repeating the edge pixels beyond the border.</summary>
    private static void BlurSeparable(Span<float> channel, float[] scratch, int size, float[] kernel)
    {
        int radius = kernel.Length / 2;
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                float sum = 0;
                for (int k = -radius; k <= radius; k++) sum += kernel[k + radius] * channel[y * size + Math.Clamp(x + k, 0, size - 1)];
                scratch[y * size + x] = sum;
            }
        }
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                float sum = 0;
                for (int k = -radius; k <= radius; k++) sum += kernel[k + radius] * scratch[Math.Clamp(y + k, 0, size - 1) * size + x];
                channel[y * size + x] = sum;
            }
        }
    }
}
