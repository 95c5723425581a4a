using ParticleGrid.Domain;

namespace ParticleGrid.Ingest;

/// <summary>One particle read from an export.</summary>
/// <param name="ParticleId">Unique within the run and a valid identifier (1-128 characters of letters, digits, '.', '_', '-', ':'):
/// the instrument's particle number for FlowCAM and MFI; for an image folder the file's path without its extension, with ':'
/// for '/' ("glass:glass_00001"), unless particles.csv gives a particle_id.</param>
/// <param name="Image">The encoded image: the file's own bytes for single-particle images, PNG bytes for a particle cut out of a FlowCAM collage.</param>
/// <param name="Source">Where it came from, for reports: the path relative to the run folder, "#x,y,w,h" for a collage cut-out,
/// and the list row in parentheses, e.g. "collage_00001.tif#10,20,48,40 (data.lst row 12)". A row number is the row's line in its file.</param>
/// <param name="EcdMicrometres">The instrument's equivalent diameter (ECD / ESD; FlowCAM: "Diameter (ESD)", else "Diameter (ABD)"), when the list gives one.</param>
/// <param name="MicrometresPerPixel">The calibration the list gives (FlowCAM "Calibration Factor", particles.csv "um_per_pixel"), when it gives one.</param>
/// <param name="Shape">The instrument's other measurements (area, aspect ratio, circularity, intensity); null when the list has none of their columns.</param>
/// <param name="ClassLabel">The class sub-folder an image-folder particle sits in (ground truth), else null.</param>
public sealed record ExportParticle(
    string ParticleId,
    byte[] Image,
    string Source,
    double? EcdMicrometres,
    double? MicrometresPerPixel,
    ParticleShape? Shape,
    string? ClassLabel);

/// <summary>Why one item of an export was refused.</summary>
public enum RejectionReason
{
    /// <summary>The image file holds no bytes.</summary>
    EmptyFile,

    /// <summary>The file is not a PNG, TIFF, BMP, JPEG or GIF image.</summary>
    NotAnImage,

    /// <summary>The image is damaged or cut off.</summary>
    CorruptImage,

    /// <summary>The image claims more pixels (or its file holds more bytes) than a particle image may.</summary>
    ImageTooLarge,

    /// <summary>A known format in a variant that cannot be decoded (a TIFF compression or bit depth, for example).</summary>
    UnsupportedPixelFormat,

    /// <summary>The particle's size is missing, not a finite number, or negative.</summary>
    BadSize,

    /// <summary>The list row cannot be used: the wrong number of fields, a value that is not a number, an invalid particle id.</summary>
    BadRow,

    /// <summary>An earlier row or file of the run already has this particle id.</summary>
    DuplicateId,

    /// <summary>The named file would be read from outside the run folder (an absolute path, "..", a symbolic link leading out).</summary>
    OutsideRunFolder,

    /// <summary>The listed image file (or collage) is not there, or cannot be read.</summary>
    MissingImage,

    /// <summary>The particle's box is not inside its collage, or has no area.</summary>
    BadBox,
}

/// <summary>One item of an export that was refused; the rest of the run is read all the same.</summary>
/// <param name="Source">The file and/or list row, as in <see cref="ExportParticle.Source"/>.</param>
/// <param name="Message">One line that names the file or row and the cause.</param>
public sealed record ExportRejection(string Source, RejectionReason Reason, string Message);

/// <summary>What a reader yields for each item of an export: exactly one of the two is set.</summary>
public readonly record struct ExportEntry(ExportParticle? Particle, ExportRejection? Rejection);

/// <summary>
/// A run folder, or its particle list, that cannot be read at all: the folder is missing, the list a format requires
/// is not there or cannot be read, or the list lacks the columns the format needs. Items that are merely bad are
/// <see cref="ExportRejection"/>s instead.
/// </summary>
public sealed class ExportException(string path, string reason) : Exception($"{path}: {reason}")
{
    /// <summary>The run folder or list file.</summary>
    public string Path { get; } = path;

    /// <summary>Why it cannot be read, without the path.</summary>
    public string Reason { get; } = reason;
}
