using System.Buffers.Binary;
using System.Security.Cryptography;

namespace ParticleGrid.Domain.Confidence;

/// <summary>
/// What one stage of a network makes of its in-scope training images, and how far a new image is from that: one part
/// of the product's out-of-scope ("unknown") score, which <see cref="OutOfScopeReference"/> combines over the stages.
/// <para>The method is class-conditional Gaussians with one shared covariance on the network's pooled features
/// (Lee et al. 2018, "Mahalanobis"), fitted on the training split only. The features have more dimensions (up to 2048)
/// than a site has training images, so the covariance is modelled as probabilistic PCA: full in the leading principal
/// components, one variance for everything else. The score is the squared Mahalanobis distance to the nearest class
/// centre under that model. Why not the top probability: a network forced to choose one of four gives a fibre or a
/// schlieren streak p &gt; 0.9 of some class (issue 14 measured AUROC 0.24-0.49 for it); the features still show that the
/// image is unlike anything it was trained on.</para>
/// </summary>
public sealed class FeatureReference
{
    const uint Magic = 0x31_44_4F_50; // "POD1": ParticleGrid out-of-scope data, layout 1

    readonly float[] mean, components, centres, precision;

    /// <param name="mean">The training features' mean [D].</param>
    /// <param name="components">The leading principal directions, row by row [K x D], orthonormal.</param>
    /// <param name="centres">Each class's mean in the component space [C x K].</param>
    /// <param name="precision">The inverse of the shared within-class covariance in the component space [K x K].</param>
    /// <param name="residualVariance">The variance per dimension left outside the components.</param>
    public FeatureReference(float[] mean, float[] components, float[] centres, float[] precision, double residualVariance)
    {
        FeatureDimensions = mean.Length;
        if (FeatureDimensions == 0 || components.Length % FeatureDimensions != 0)
            throw new ArgumentException($"{components.Length} component values do not fit {FeatureDimensions} features");
        Components = components.Length / FeatureDimensions;
        if (precision.Length != Components * Components) throw new ArgumentException($"precision has {precision.Length} values; {Components} components need {Components * Components}");
        if (Components == 0 || centres.Length % Components != 0) throw new ArgumentException($"{centres.Length} centre values do not fit {Components} components");
        if (!(residualVariance > 0)) throw new ArgumentOutOfRangeException(nameof(residualVariance), residualVariance, "must be positive");
        Classes = centres.Length / Components;
        (this.mean, this.components, this.centres, this.precision, ResidualVariance) = (mean, components, centres, precision, residualVariance);
    }

    public int FeatureDimensions { get; }
    public int Components { get; }
    public int Classes { get; }
    public double ResidualVariance { get; }

    /// <summary>The squared Mahalanobis distance of one image's features to the nearest class (larger: less like training).</summary>
    public double Score(ReadOnlySpan<float> features)
    {
        if (features.Length != FeatureDimensions)
            throw new ArgumentException($"{features.Length} features; this reference was fitted on {FeatureDimensions}", nameof(features));
        int d = FeatureDimensions, k = Components;
        Span<double> centred = d <= 4096 ? stackalloc double[d] : new double[d];
        double total = 0;
        for (int i = 0; i < d; i++) { centred[i] = features[i] - mean[i]; total += centred[i] * centred[i]; }
        var z = new double[k];
        double inSubspace = 0;
        for (int c = 0; c < k; c++)
        {
            double sum = 0;
            var row = components.AsSpan(c * d, d);
            for (int i = 0; i < d; i++) sum += row[i] * centred[i];
            z[c] = sum;
            inSubspace += sum * sum;
        }
        double residual = Math.Max(0, total - inSubspace) / ResidualVariance;
        double best = double.PositiveInfinity;
        var delta = new double[k];
        for (int cls = 0; cls < Classes; cls++)
        {
            for (int c = 0; c < k; c++) delta[c] = z[c] - centres[cls * k + c];
            double distance = 0;
            for (int r = 0; r < k; r++)
            {
                double row = 0;
                for (int c = 0; c < k; c++) row += precision[r * k + c] * delta[c];
                distance += delta[r] * row;
            }
            best = Math.Min(best, distance);
        }
        return best + residual;
    }

    /// <summary>The reference as bytes (little-endian float32 arrays behind a small header); its SHA-256 is its identity.</summary>
    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(Magic);
            writer.Write(FeatureDimensions);
            writer.Write(Components);
            writer.Write(Classes);
            writer.Write(ResidualVariance);
            foreach (var array in new[] { mean, components, centres, precision })
                foreach (float v in array) writer.Write(v);
        }
        return stream.ToArray();
    }

    public string Sha256() => Convert.ToHexStringLower(SHA256.HashData(ToBytes()));

    /// <summary>Reads what <see cref="ToBytes"/> wrote; anything else is refused with the reason.</summary>
    public static FeatureReference FromBytes(byte[] bytes)
    {
        const int header = 4 + 4 * 3 + 8;
        if (bytes.Length < header || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
            throw new InvalidDataException("not a ParticleGrid out-of-scope reference (bad header)");
        int d = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)), k = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)),
            c = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        double residual = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(16));
        if (d is < 1 or > 65536 || k < 1 || k > d || c is < 1 or > 1000)
            throw new InvalidDataException($"out-of-scope reference with impossible sizes (features {d}, components {k}, classes {c})");
        long expected = header + 4L * (d + (long)k * d + (long)c * k + (long)k * k);
        if (bytes.Length != expected) throw new InvalidDataException($"out-of-scope reference is {bytes.Length} bytes; its sizes need {expected}");
        int at = header;
        float[] Read(int count)
        {
            var values = new float[count];
            for (int i = 0; i < count; i++, at += 4) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at));
            return values;
        }
        var mean = Read(d);
        var components = Read(k * d);
        var centres = Read(c * k);
        var precision = Read(k * k);
        return new FeatureReference(mean, components, centres, precision, residual);
    }
}
