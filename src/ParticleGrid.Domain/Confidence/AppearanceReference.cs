namespace ParticleGrid.Domain.Confidence;

/// <summary>
/// What the in-scope training images look like in <see cref="ParticleAppearance"/>'s three numbers: one Gaussian per
/// class, each with its own covariance (three dimensions and a few hundred images per class estimate one well; the
/// types differ in spread, a protein's contrast far more than a bubble's). Fitted on the training split; the logarithm
/// of the squared Mahalanobis distance to the nearest class is standardised on the validation split, like a network stage.
/// </summary>
public sealed class AppearanceReference
{
    /// <summary>Added to each covariance's diagonal: a class whose images all share one value must not make it singular.</summary>
    const double Ridge = 1e-3;

    /// <summary>Training images a class needs for a covariance of its own (else it borrows the pooled one).</summary>
    public const int OwnCovarianceImages = 10;

    readonly double[] means, precisions; // [class x 3], [class x 3 x 3]

    public AppearanceReference(double[] means, double[] precisions, double logMean, double logSpread)
    {
        const int d = ParticleAppearance.Dimensions;
        if (means.Length == 0 || means.Length % d != 0) throw new ArgumentException($"{means.Length} mean values do not fit {d} dimensions");
        Classes = means.Length / d;
        if (precisions.Length != Classes * d * d) throw new ArgumentException($"{precisions.Length} precision values; {Classes} classes need {Classes * d * d}");
        if (means.Concat(precisions).Any(v => !double.IsFinite(v))) throw new ArgumentException("appearance reference values must be finite");
        if (!(logSpread > 0) || !double.IsFinite(logSpread) || !double.IsFinite(logMean))
            throw new ArgumentOutOfRangeException(nameof(logSpread), logSpread, "must be positive");
        (this.means, this.precisions, LogMean, LogSpread) = (means, precisions, logMean, logSpread);
    }

    public int Classes { get; }
    public double LogMean { get; }
    public double LogSpread { get; }

    /// <summary>Fits the class Gaussians on training descriptors and the standardisation on validation descriptors.</summary>
    /// <remarks>
    /// A class with fewer than <see cref="OwnCovarianceImages"/> training images borrows the classes' pooled within-class
    /// covariance (a handful of images cannot estimate three variances and their correlations); a class with none has no
    /// Gaussian. Small training sets (a test's few images per class) still get a reference.
    /// </remarks>
    public static AppearanceReference Fit(IReadOnlyList<float[]> train, IReadOnlyList<int> trainLabels, int classCount,
        IReadOnlyList<float[]> validation)
    {
        const int d = ParticleAppearance.Dimensions;
        var classes = Enumerable.Range(0, classCount)
            .Select(cls => Enumerable.Range(0, train.Count).Where(i => trainLabels[i] == cls).Select(i => train[i]).ToList())
            .Where(members => members.Count > 0).ToList();
        if (classes.Count == 0) throw new ArgumentException("no training images to fit the appearance on");

        double[] Mean(List<float[]> members) => [.. Enumerable.Range(0, d).Select(a => members.Average(m => (double)m[a]))];
        double[] Scatter(List<float[]> members, double[] mean)
        {
            var scatter = new double[d * d];
            foreach (var m in members)
                for (int a = 0; a < d; a++)
                    for (int b = 0; b < d; b++)
                        scatter[a * d + b] += (m[a] - mean[a]) * (m[b] - mean[b]);
            return scatter;
        }
        var classMeans = classes.Select(Mean).ToList();
        var pooled = new double[d * d];
        int freedom = 0;
        for (int c = 0; c < classes.Count; c++)
        {
            var scatter = Scatter(classes[c], classMeans[c]);
            for (int i = 0; i < pooled.Length; i++) pooled[i] += scatter[i];
            freedom += classes[c].Count - 1;
        }
        for (int i = 0; i < pooled.Length; i++) pooled[i] = freedom > 0 ? pooled[i] / freedom : (i % (d + 1) == 0 ? 1 : 0);

        var means = new double[classes.Count * d];
        var precisions = new double[classes.Count * d * d];
        for (int c = 0; c < classes.Count; c++)
        {
            classMeans[c].CopyTo(means, c * d);
            double[] covariance = classes[c].Count >= OwnCovarianceImages
                ? [.. Scatter(classes[c], classMeans[c]).Select(v => v / (classes[c].Count - 1))]
                : [.. pooled];
            for (int a = 0; a < d; a++) covariance[a * d + a] += Ridge;
            Invert3(covariance).CopyTo(precisions, c * d * d);
        }
        var unstandardised = new AppearanceReference(means, precisions, 0, 1);
        var (mean, spread) = LogDistances.Of(validation.Select(v => unstandardised.Distance(v)));
        return new AppearanceReference(means, precisions, mean, spread);
    }

    /// <summary>The squared Mahalanobis distance of one image's descriptors to the nearest class.</summary>
    public double Distance(ReadOnlySpan<float> appearance)
    {
        const int d = ParticleAppearance.Dimensions;
        if (appearance.Length != d) throw new ArgumentException($"{appearance.Length} appearance values; expected {d}", nameof(appearance));
        double best = double.PositiveInfinity;
        Span<double> delta = stackalloc double[d];
        for (int cls = 0; cls < Classes; cls++)
        {
            for (int a = 0; a < d; a++) delta[a] = appearance[a] - means[cls * d + a];
            double distance = 0;
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++)
                    distance += delta[a] * precisions[cls * d * d + a * d + b] * delta[b];
            best = Math.Min(best, distance);
        }
        return best;
    }

    /// <summary>How many spreads the log distance lies above its in-scope validation mean.</summary>
    public double Standardised(ReadOnlySpan<float> appearance) => LogDistances.Standardised(Distance(appearance), LogMean, LogSpread);

    public void Write(BinaryWriter writer)
    {
        writer.Write(Classes);
        writer.Write(LogMean);
        writer.Write(LogSpread);
        foreach (double v in means) writer.Write(v);
        foreach (double v in precisions) writer.Write(v);
    }

    public static AppearanceReference Read(BinaryReader reader)
    {
        const int d = ParticleAppearance.Dimensions;
        int classes = reader.ReadInt32();
        if (classes is < 1 or > 64) throw new InvalidDataException($"appearance reference with an impossible class count ({classes})");
        double logMean = reader.ReadDouble(), logSpread = reader.ReadDouble();
        var means = new double[classes * d];
        for (int i = 0; i < means.Length; i++) means[i] = reader.ReadDouble();
        var precisions = new double[classes * d * d];
        for (int i = 0; i < precisions.Length; i++) precisions[i] = reader.ReadDouble();
        try { return new AppearanceReference(means, precisions, logMean, logSpread); }
        catch (ArgumentException invalid) { throw new InvalidDataException($"appearance reference: {invalid.Message}", invalid); }
    }

    static double[] Invert3(double[] m)
    {
        double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7], i = m[8];
        double det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
        if (!(Math.Abs(det) > 1e-18)) throw new ArgumentException("an appearance covariance is singular");
        return
        [
            (e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det,
            (f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det,
            (d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det,
        ];
    }
}
