namespace ParticleGrid.Domain;

/// <summary>
/// A particle's shape and brightness: the one record a reader, the run, the worker's mask measurement and the store all
/// use. The instrument's list gives it where it can; a worker measures the rest from the image's mask, and the run keeps
/// the instrument's value wherever both exist (<see cref="Or"/>).
/// </summary>
/// <param name="AreaSquareMicrometres">The area (an instrument's area-based, ABD, area; the mask's area at the calibration).</param>
/// <param name="AspectRatio">Width over length, 0..1 as FlowCAM and MFI give it; 1 is round, a fibre is near 0.</param>
/// <param name="Circularity">How round the outline is, 0..1, as the instrument (or the mask's perimeter) defines it.</param>
/// <param name="MeanIntensity">The particle's mean grey level, as the instrument or the image gives it.</param>
public sealed record ParticleShape(double? AreaSquareMicrometres, double? AspectRatio, double? Circularity, double? MeanIntensity)
{
    /// <summary>The shape these values make, or null when none is known (a list without these columns, say).</summary>
    public static ParticleShape? Of(double? areaSquareMicrometres, double? aspectRatio, double? circularity, double? meanIntensity) =>
        areaSquareMicrometres is null && aspectRatio is null && circularity is null && meanIntensity is null
            ? null : new ParticleShape(areaSquareMicrometres, aspectRatio, circularity, meanIntensity);

    /// <summary>Each value from this shape, or from <paramref name="fallback"/> where this one has none.</summary>
    public ParticleShape Or(ParticleShape? fallback) => new(
        AreaSquareMicrometres ?? fallback?.AreaSquareMicrometres, AspectRatio ?? fallback?.AspectRatio,
        Circularity ?? fallback?.Circularity, MeanIntensity ?? fallback?.MeanIntensity);
}
