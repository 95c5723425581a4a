namespace ParticleGrid.Imaging;

/// <summary>What is wrong with a particle image that <see cref="ParticleImageDecoder"/> refused.</summary>
public enum ParticleImageProblem
{
    /// <summary>The file or stream holds no bytes.</summary>
    Empty,

    /// <summary>The bytes are not one of the supported image formats.</summary>
    NotAnImage,

    /// <summary>The header claims more pixels (or the stream holds more bytes) than the limits allow.</summary>
    TooLarge,

    /// <summary>The image is damaged: its header is inconsistent, its data fails to decode, or it is cut off.</summary>
    Corrupt,

    /// <summary>A known format in a variant the decoder cannot read (a TIFF compression or bit depth, a BMP encoding).</summary>
    Unsupported,

    /// <summary>The file could not be opened or read (missing, no permission, an I/O error).</summary>
    Unreadable,
}

/// <summary>
/// A particle image that cannot be used, with a one-line message "{file}: {reason}" fit to show a user
/// beside the file it is about.
/// </summary>
public sealed class ParticleImageException : Exception
{
    public ParticleImageException(string file, string reason)
        : this(file, reason, null)
    {
    }

    public ParticleImageException(string file, string reason, Exception? innerException)
        : this(file, reason, ParticleImageProblem.Corrupt, innerException)
    {
    }

    public ParticleImageException(string file, string reason, ParticleImageProblem kind, Exception? innerException = null)
        : base($"{OneLine(file)}: {OneLine(reason)}", innerException)
    {
        File = file;
        Reason = reason;
        Kind = kind;
    }

    /// <summary>The file (or stream name) the image came from.</summary>
    public string File { get; }

    /// <summary>Why it was refused, without the file name.</summary>
    public string Reason { get; }

    /// <summary>What kind of problem it is, for callers that sort refusals (the constructors without one say <see cref="ParticleImageProblem.Corrupt"/>).</summary>
    public ParticleImageProblem Kind { get; }

    private static string OneLine(string text) =>
        string.Join(' ', (text ?? "").Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
