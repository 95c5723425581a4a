namespace ParticleGrid.Domain.Confidence;

/// <summary>
/// Three numbers that say what a particle image looks like to someone reading FIM morphology, measured on the image the
/// networks are given (grey planes of one square side, values in [0, 1], padded with the background level):
/// <list type="number">
/// <item><b>ln contrast</b>: ln(1 + the 99th percentile of |pixel - background|, in grey levels). Schlieren are faint
/// refractive smears, fainter than the most translucent protein.</item>
/// <item><b>ln elongation</b>: ln of the ratio of the particle's long and short axes (the square root of the eigenvalues of
/// its pixels' coordinate covariance). Fibres are long thin strands; none of the four types is.</item>
/// <item><b>body sign</b>: the mean of (pixel - background) over the particle, over its contrast. Every one of the four
/// types images darker than its background (a bubble's rim, an aggregate's body), a refractive streak is as bright as
/// it is dark.</item>
/// </list>
/// Why these and not the networks' features alone: a network trained to tell four types apart learns to ignore what
/// does not separate them, and to it a faint smear is a faint protein (the all-stage feature score put schlieren
/// <i>inside</i> the in-scope range: AUROC 0.08 on a synthetic set). These three come from the domain's own description
/// of the types (MFI and FlowCAM report intensity, aspect ratio and the like for the same reason), not from any
/// out-of-scope image. Edge sharpness and filled area were left out because they were chosen against in-scope images:
/// out-of-focus particles (in scope) lose their sharp edges, and particles cut by the frame their area.
/// </summary>
public static class ParticleAppearance
{
    /// <summary>How many numbers <see cref="Describe"/> returns.</summary>
    public const int Dimensions = 3;

    /// <summary>Pixels further than this many noise spreads (or a quarter of the contrast) from the background belong to the particle.</summary>
    const double NoiseSpreads = 4, ContrastShare = 0.25;

    /// <summary>Describes one image from its planes (1 or 3 planes of side x side, values byte / 255).</summary>
    public static float[] Describe(ReadOnlySpan<float> planes, int side)
    {
        int plane = side * side;
        if (side < 2 || planes.Length == 0 || planes.Length % plane != 0)
            throw new ArgumentException($"{planes.Length} values are not planes of {side} x {side}", nameof(planes));
        int channels = planes.Length / plane;

        // Grey levels 0-255 (the planes hold bytes over 255; the mean of equal channels is the grey itself).
        var grey = new int[plane];
        for (int i = 0; i < plane; i++)
        {
            double sum = 0;
            for (int c = 0; c < channels; c++) sum += planes[c * plane + i];
            grey[i] = Math.Clamp((int)Math.Round(sum / channels * 255), 0, 255);
        }

        // The background: the median of the border, robust to a particle cut by the frame; the noise: its spread (MAD).
        var border = new int[256];
        int borderCount = 0;
        for (int i = 0; i < side; i++)
        {
            border[grey[i]]++; border[grey[plane - side + i]]++;
            border[grey[i * side]]++; border[grey[i * side + side - 1]]++;
            borderCount += 4;
        }
        int background = Quantile(border, borderCount, 0.5);
        var deviation = new int[256];
        for (int level = 0; level < 256; level++) deviation[Math.Abs(level - background)] += border[level];
        double noise = 1.4826 * Quantile(deviation, borderCount, 0.5) + 1;

        var absolute = new int[256];
        for (int i = 0; i < plane; i++) absolute[Math.Abs(grey[i] - background)]++;
        double contrast = Quantile(absolute, plane, 0.99);

        // The particle: pixels clearly off the background. Its axes from the covariance of their coordinates.
        double cut = Math.Max(NoiseSpreads * noise, ContrastShare * contrast);
        long n = 0;
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, body = 0;
        for (int y = 0; y < side; y++)
        {
            for (int x = 0; x < side; x++)
            {
                int d = grey[y * side + x] - background;
                if (Math.Abs(d) <= cut) continue;
                n++; sx += x; sy += y; sxx += (double)x * x; syy += (double)y * y; sxy += (double)x * y; body += d;
            }
        }
        double elongation = 1, sign = 0;
        if (n > 2)
        {
            double cxx = sxx / n - sx / n * (sx / n), cyy = syy / n - sy / n * (sy / n), cxy = sxy / n - sx / n * (sy / n);
            double half = (cxx + cyy) / 2, root = Math.Sqrt(Math.Max(0, (cxx - cyy) * (cxx - cyy) / 4 + cxy * cxy));
            double major = half + root, minor = Math.Max(0, half - root);
            elongation = Math.Sqrt((major + 1e-3) / (minor + 1e-3));
            sign = body / n / (contrast + 1);
        }
        return [(float)Math.Log(contrast + 1), (float)Math.Log(elongation), (float)sign];
    }

    /// <summary>The smallest level whose cumulative count reaches the share (a histogram's quantile).</summary>
    static int Quantile(int[] histogram, int count, double share)
    {
        long target = Math.Max(1, (long)Math.Ceiling(share * count)), seen = 0;
        for (int level = 0; level < histogram.Length; level++)
        {
            seen += histogram[level];
            if (seen >= target) return level;
        }
        return histogram.Length - 1;
    }
}
