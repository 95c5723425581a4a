namespace ParticleGrid.Imaging;

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
        : base($"{OneLine(file)}: {OneLine(reason)}", innerException)
    {
        File = file;
        Reason = reason;
    }

    /// <summary>The file (or stream name) the image came from.</summary>
    public string File { get; }

    /// <summary>Why it was refused, without the file name.</summary>
    public string Reason { get; }

    private static string OneLine(string text) =>
        string.Join(' ', (text ?? "").Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
