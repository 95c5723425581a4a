using System.Globalization;

namespace ParticleGrid.Imaging;

/// <summary>
/// How an instrument renders particles (DOMAIN.md: "Instruments differ: background level and texture, contrast, optics
/// blur and pixel size"), for SHIFTED synthetic test sets: the same particle types drawn as another instrument or
/// setting would image them. A model trained on one look is not validated for another until shown to be, and the
/// domain-shift alarm must notice the difference. The four types drawn with any look stay in scope (their class
/// folders as usual); only the pixels change.
/// </summary>
/// <param name="Name">The preset's name on the command line (<c>synth --look NAME</c>).</param>
/// <param name="Summary">One line for <c>--help</c> and docs: what differs from <see cref="Default"/>.</param>
/// <param name="BackgroundLow">The lowest background level (share of full scale); each image draws its level from [low, low + spread].</param>
/// <param name="BackgroundSpread">How far the background level varies between images.</param>
/// <param name="BackgroundSlope">The largest drift of the background across the frame, either way, per axis.</param>
/// <param name="MottleAmplitude">The background's texture: the amplitude of its smooth mottle (share of full scale).</param>
/// <param name="MottleCellsPerSide">The mottle's grain: lattice cells across the frame (more cells, finer grain).</param>
/// <param name="Contrast">How strongly the particle differs from the background: 1 as drawn, above 1 more, below 1 less (transmission 1 + c (t - 1)).</param>
/// <param name="ExtraBlurSigma">The optics' extra point spread, in pixels, added in quadrature to each image's focus blur.</param>
/// <param name="NoiseLow">The least camera noise (standard deviation, share of full scale); each image draws from [low, low + spread].</param>
/// <param name="NoiseSpread">How far the camera noise varies between images.</param>
/// <param name="MicrometresPerPixel">The pixel size this look stands for, or null to keep the caller's; a coarser pixel makes the same particle fewer pixels across.</param>
public sealed record InstrumentLook(
    string Name,
    string Summary,
    double BackgroundLow,
    double BackgroundSpread,
    double BackgroundSlope,
    double MottleAmplitude,
    double MottleCellsPerSide,
    double Contrast,
    double ExtraBlurSigma,
    double NoiseLow,
    double NoiseSpread,
    double? MicrometresPerPixel)
{
    /// <summary>
    /// The look every in-scope synthetic image has had so far (the demo's and the training figures' data): light grey
    /// background 0.62–0.86, a faint mottle, noise 0.6–2 % of full scale, 1 um per pixel unless the caller says otherwise.
    /// The renderer takes exactly its old arithmetic for these values, so default images stay byte for byte as they were.
    /// </summary>
    public static InstrumentLook Default { get; } = new(
        "default", "as the in-scope training data: light grey background (62-86 % of full scale), faint mottle, sharp optics, low noise",
        BackgroundLow: 0.62, BackgroundSpread: 0.24, BackgroundSlope: 0.04, MottleAmplitude: 0.01, MottleCellsPerSide: 4,
        Contrast: 1, ExtraBlurSigma: 0, NoiseLow: 0.006, NoiseSpread: 0.014, MicrometresPerPixel: null);

    /// <summary>The named presets, <see cref="Default"/> first. Each changes one thing, so a shift can be blamed on it.</summary>
    public static IReadOnlyList<InstrumentLook> Presets { get; } =
    [
        Default,
        // An instrument with weaker illumination or a lower camera gain: the whole frame sits lower on the grey scale.
        Default with { Name = "dim-background", Summary = "a darker background (35-47 % of full scale), as with weaker illumination or gain", BackgroundLow = 0.35, BackgroundSpread = 0.12 },
        // Dirty or scratched flow-cell windows and uneven illumination: a coarse, stronger texture behind every particle.
        Default with { Name = "textured-background", Summary = "a strongly mottled background (5x the texture, 3x finer grain), as with a dirty flow cell or uneven illumination", MottleAmplitude = 0.05, MottleCellsPerSide = 12 },
        // Harder illumination or another camera response: every particle darker (and its bright parts brighter) against the background.
        Default with { Name = "high-contrast", Summary = "particles differ 1.6x as much from the background (darker rims and bodies, brighter halos)", Contrast = 1.6 },
        // Softer, flatter images: faint particles come closer to the background.
        Default with { Name = "low-contrast", Summary = "particles differ 0.55x as much from the background", Contrast = 0.55 },
        // Another objective, a misaligned focus or a deeper flow cell: every edge softened.
        Default with { Name = "blurred", Summary = "optics blur 1.6 px (added to each image's focus blur of 0.25-0.7 px)", ExtraBlurSigma = 1.6 },
        // A lower magnification (MFI-like or a 4x objective): the same particle covers fewer pixels.
        Default with { Name = "coarse-pixels", Summary = "1.6 um per pixel instead of 1 (particles look smaller in pixels; DOMAIN.md: instruments span about 0.7-1.1)", MicrometresPerPixel = 1.6 },
        // A higher camera gain or shorter exposure: grainy frames.
        Default with { Name = "noisy", Summary = "camera noise 3-5 % of full scale instead of 0.6-2 %", NoiseLow = 0.03, NoiseSpread = 0.02 },
    ];

    /// <summary>The preset of this name (case does not matter), or false.</summary>
    public static bool TryGet(string name, out InstrumentLook look)
    {
        ArgumentNullException.ThrowIfNull(name);
        look = Presets.FirstOrDefault(p => string.Equals(p.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))!;
        return look is not null;
    }

    /// <summary>True for the look the in-scope training data has (however it was obtained, by value).</summary>
    public bool IsDefault => this == Default;

    /// <summary>"name: summary" lines for --help.</summary>
    public static string Describe() =>
        string.Join(Environment.NewLine, Presets.Select(p => string.Create(CultureInfo.InvariantCulture, $"  {p.Name}: {p.Summary}")));
}
