using System.Buffers.Binary;
using System.Security.Cryptography;

namespace ParticleGrid.Domain.Confidence;

/// <summary>
/// What one network's in-scope training images look like at each of its stages, and how far a new image is from that:
/// the product's out-of-scope ("unknown") score.
/// <para>One <see cref="FeatureReference"/> per stage (class-conditional Gaussians on that stage's pooled output,
/// Lee et al. 2018), each fitted on the training split only. The stages are weighed equally, with no out-of-scope
/// image to tune weights on: each stage's log distance is standardised by its mean and spread on the in-scope
/// validation split, and the score is the exponential of their mean, so it stays positive and one threshold (set on the
/// same split) applies to it. Why more than the last stage: the penultimate features are trained to ignore what does
/// not separate the four types, so a particle cut by the frame looked "unknown" there (47 % of them kept on a
/// synthetic set against 92 % with every stage), while early stages still see the edges, contrast and texture the
/// training images had.</para>
/// <para>Layout 3 adds an <see cref="AppearanceReference"/>: three morphology numbers of the image itself (contrast,
/// elongation, body sign; <see cref="ParticleAppearance"/>), standardised the same way. The score then takes the larger
/// of the two: an image is out of scope when the networks' stages find it unlike training <i>or</i> it looks unlike any
/// of the four types (a faint refractive smear, a long strand), to which a four-way network is blind. The threshold,
/// set on the combined score, keeps the stated share of in-scope validation images.</para>
/// </summary>
public sealed class OutOfScopeReference
{
    const uint Magic = 0x32_44_4F_50; // "POD2": ParticleGrid out-of-scope data, layout 2 (per stage)
    const uint MagicWithAppearance = 0x33_44_4F_50; // "POD3": layout 2, then the image's appearance

    readonly Stage[] stages;

    /// <summary>One stage: its Gaussians, and the mean and spread of ln(distance) on in-scope validation images.</summary>
    public sealed record Stage(int Width, FeatureReference Gaussians, double LogMean, double LogSpread)
    {
        public int Width { get; } = Width == Gaussians.FeatureDimensions ? Width
            : throw new ArgumentException($"stage width {Width} but its reference has {Gaussians.FeatureDimensions} features");
        public double LogSpread { get; } = LogSpread > 0 && double.IsFinite(LogSpread) ? LogSpread
            : throw new ArgumentOutOfRangeException(nameof(LogSpread), LogSpread, "must be positive");

        /// <summary>How many spreads this stage's ln(distance) lies above its in-scope mean.</summary>
        public double Standardised(ReadOnlySpan<float> features) => LogDistances.Standardised(Gaussians.Score(features), LogMean, LogSpread);
    }

    public OutOfScopeReference(IReadOnlyList<Stage> stages, AppearanceReference? appearance = null)
    {
        if (stages.Count == 0) throw new ArgumentException("an out-of-scope reference needs at least one stage", nameof(stages));
        this.stages = [.. stages];
        FeatureDimensions = stages.Sum(s => s.Width);
        Appearance = appearance;
    }

    public IReadOnlyList<Stage> Stages => stages;

    /// <summary>The image's own appearance as training showed it; null in a layout-2 reference (the networks' stages only).</summary>
    public AppearanceReference? Appearance { get; }

    /// <summary>The width of the stage features it reads: every stage's, side by side.</summary>
    public int FeatureDimensions { get; }

    /// <summary>The principal components of its largest stage model (for the manifest).</summary>
    public int Components => stages.Max(s => s.Gaussians.Components);

    /// <summary>
    /// Fits the standardisation of each stage from in-scope validation images that the Gaussians never saw.
    /// </summary>
    /// <param name="gaussians">Each stage's Gaussians, fitted on the training split.</param>
    /// <param name="validationFeatures">Stage features of the validation split.</param>
    /// <param name="appearance">The image appearance's reference, already standardised on the same validation images (or null).</param>
    public static OutOfScopeReference Standardise(IReadOnlyList<FeatureReference> gaussians, IReadOnlyList<float[]> validationFeatures,
        AppearanceReference? appearance = null)
    {
        var result = new List<Stage>(gaussians.Count);
        int offset = 0;
        foreach (var stage in gaussians)
        {
            int at = offset, width = stage.FeatureDimensions;
            var (mean, spread) = LogDistances.Of(validationFeatures.Select(f => stage.Score(f.AsSpan(at, width))));
            result.Add(new Stage(width, stage, mean, spread));
            offset += width;
        }
        return new OutOfScopeReference(result, appearance);
    }

    /// <summary>
    /// exp(mean over stages of the standardised ln distance), or of the image appearance's standardised ln distance when
    /// that is larger: larger is less like the training images.
    /// </summary>
    /// <param name="features">The network's stage features, side by side.</param>
    /// <param name="appearance">The image's <see cref="ParticleAppearance"/> (needed when the reference has one).</param>
    public double Score(ReadOnlySpan<float> features, ReadOnlySpan<float> appearance = default)
    {
        double networks = StagesStandardised(features);
        if (Appearance is null) return Math.Exp(networks);
        if (appearance.Length == 0) throw new ArgumentException("this reference also scores the image's appearance: give its ParticleAppearance", nameof(appearance));
        return Math.Exp(Math.Max(networks, Appearance.Standardised(appearance)));
    }

    /// <summary>The mean over stages of the standardised ln distance.</summary>
    public double StagesStandardised(ReadOnlySpan<float> features)
    {
        if (features.Length != FeatureDimensions)
            throw new ArgumentException($"{features.Length} features; this reference was fitted on {FeatureDimensions} ({string.Join(" + ", stages.Select(s => s.Width))})", nameof(features));
        double sum = 0;
        int offset = 0;
        foreach (var stage in stages)
        {
            sum += stage.Standardised(features.Slice(offset, stage.Width));
            offset += stage.Width;
        }
        return sum / stages.Length;
    }

    /// <summary>The reference as bytes (a small header, then each stage's standardisation and Gaussians); its SHA-256 is its identity.</summary>
    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            // Layout 2 when there is no appearance: a reference written before layout 3 keeps its bytes, so its hash (part
            // of the model's identity in lineage) does not change.
            writer.Write(Appearance is null ? Magic : MagicWithAppearance);
            writer.Write(stages.Length);
            foreach (var stage in stages)
            {
                var gaussians = stage.Gaussians.ToBytes();
                writer.Write(stage.Width);
                writer.Write(stage.LogMean);
                writer.Write(stage.LogSpread);
                writer.Write(gaussians.Length);
                writer.Write(gaussians);
            }
            Appearance?.Write(writer);
        }
        return stream.ToArray();
    }

    public string Sha256() => Convert.ToHexStringLower(SHA256.HashData(ToBytes()));

    /// <summary>Reads what <see cref="ToBytes"/> wrote; anything else is refused with the reason.</summary>
    public static OutOfScopeReference FromBytes(byte[] bytes)
    {
        if (bytes.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(bytes) == 0x31_44_4F_50)
            throw new InvalidDataException("an out-of-scope reference of layout 1 (the last stage only), written before ParticleGrid scored every stage: fit it again with `particlegrid refit` (weights kept) or train the model again");
        uint magic = bytes.Length < 8 ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if (magic is not (Magic or MagicWithAppearance))
            throw new InvalidDataException("not a ParticleGrid out-of-scope reference (bad header)");
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
        if (count is < 1 or > 64) throw new InvalidDataException($"out-of-scope reference with an impossible stage count ({count})");
        int at = 8;
        var stages = new List<Stage>(count);
        for (int i = 0; i < count; i++)
        {
            const int header = 4 + 8 + 8 + 4;
            if (bytes.Length - at < header) throw new InvalidDataException($"out-of-scope reference cut short in stage {i + 1} of {count}");
            int width = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            double mean = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(at + 4));
            double spread = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(at + 12));
            int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at + 20));
            at += header;
            if (length < 0 || length > bytes.Length - at) throw new InvalidDataException($"out-of-scope reference cut short in stage {i + 1} of {count}");
            try { stages.Add(new Stage(width, FeatureReference.FromBytes(bytes.AsSpan(at, length).ToArray()), mean, spread)); }
            catch (ArgumentException invalid) { throw new InvalidDataException($"out-of-scope reference stage {i + 1}: {invalid.Message}", invalid); }
            at += length;
        }
        AppearanceReference? appearance = null;
        if (magic == MagicWithAppearance)
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, at, bytes.Length - at));
            try { appearance = AppearanceReference.Read(reader); }
            catch (EndOfStreamException) { throw new InvalidDataException("out-of-scope reference cut short in its appearance"); }
            at += (int)reader.BaseStream.Position;
        }
        if (at != bytes.Length) throw new InvalidDataException($"out-of-scope reference has {bytes.Length - at} bytes after its last part");
        return new OutOfScopeReference(stages, appearance);
    }
}
