using System.Globalization;

namespace ParticleGrid.Domain;

/// <summary>
/// What ingest says when a run's particles will have no size: neither the instrument's size (ECD) nor a calibration
/// (micrometres per pixel) to measure one from the image. Such particles are counted in the lot, but in no size class,
/// so the lot's verdict has to assume the worst of them (see <see cref="CompendialLimits"/>); the user should hear it
/// when the run starts, not when QA reads the lot.
/// </summary>
public static class SizeWarnings
{
    /// <summary>The words every ingest path starts its warning with (CLI ingest and watch, HTTP ingest).</summary>
    public const string SizesUnknown = "sizes unknown: give --um-per-pixel";

    /// <summary>The warning for a run of <paramref name="total"/> particles of which <paramref name="unsized"/> will have no size; null when all will.</summary>
    public static string? ForRun(int unsized, int total) => unsized <= 0 ? null : string.Create(CultureInfo.InvariantCulture,
        $"{SizesUnknown} ({unsized} of {total} particles have neither an instrument size nor a calibration, so they will have no size; " +
        $"the lot's verdict then assumes each is >= 25 um and is NotAssessable unless even that stays within the limits)");

    /// <summary>
    /// The warning for a run started over HTTP without a calibration: its particles are not known yet, so it says what
    /// happens to those that come without <c>ecdMicrometres</c>. Null when the run has a calibration.
    /// </summary>
    public static string? ForRunWithoutCalibration(double? micrometresPerPixel) => micrometresPerPixel is not null ? null :
        $"{SizesUnknown} (micrometresPerPixel): this run has no calibration, so particles sent without ecdMicrometres (or their own " +
        "micrometresPerPixel) will have no size, and the lot's verdict then assumes each is >= 25 um";
}
