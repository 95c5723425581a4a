namespace ParticleGrid.Imaging;

/// <summary>
/// What a particle's mask says about it, as <see cref="ParticleMorphology.Measure"/> finds it.
/// Lengths are in micrometres at the calibration given; pixel counts are as the image has them.
/// </summary>
/// <param name="AreaPixels">Pixels in the particle's mask, holes filled.</param>
/// <param name="EcdMicrometres">Equivalent circular diameter: the diameter of a circle of the mask's area, 2 sqrt(area / pi).</param>
/// <param name="AreaSquareMicrometres">The mask's area.</param>
/// <param name="AspectRatio">
/// Minor over major axis of the mask's second moments (the ellipse of the same inertia), 0 to 1; 1 is round, a fibre
/// is near 0. The FlowCAM-style measure, insensitive to a ragged outline (circularity shows that).
/// </param>
/// <param name="Circularity">4 pi area / perimeter², clamped to 0..1: about 1 for a disc, lower for elongated or ragged outlines.</param>
/// <param name="MeanIntensity">The mean grey level (0–255, grey = mean of R, G, B) of the mask's pixels in the original image.</param>
/// <param name="TouchesEdge">The mask reaches the frame edge: the frame cuts the particle, so its size is a lower bound.</param>
public sealed record ParticleMeasurements(
    int AreaPixels,
    double EcdMicrometres,
    double AreaSquareMicrometres,
    double AspectRatio,
    double Circularity,
    double MeanIntensity,
    bool TouchesEdge);
