namespace ParticleGrid.Imaging;

/// <summary>Per-channel mean and standard deviation that a network's input was normalised with (R, G, B).</summary>
public sealed record ChannelNormalization(float[] Mean, float[] Std)
{
    /// <summary>The channel means of ImageNet, which the study's pretrained torchvision models expect.</summary>
    public static ChannelNormalization ImageNet => new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    public float[] Mean { get; init; } = CheckThree(Mean, nameof(Mean), mustBePositive: false);

    public float[] Std { get; init; } = CheckThree(Std, nameof(Std), mustBePositive: true);

    private static float[] CheckThree(float[] values, string name, bool mustBePositive)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Length != 3) throw new ArgumentException($"{name} needs one value per channel (3), not {values.Length}.", name);
        if (values.Any(v => !float.IsFinite(v) || (mustBePositive && v <= 0)))
        {
            throw new ArgumentException($"{name} values must be finite{(mustBePositive ? " and positive" : "")}.", name);
        }
        return values;
    }
}
