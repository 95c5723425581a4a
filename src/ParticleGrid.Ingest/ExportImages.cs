using ParticleGrid.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Ingest;

/// <summary>
/// Checks particle images as the readers check every file: decoded in full with <see cref="ParticleImageDecoder"/>, so
/// that whatever passes here will decode for the networks too. Public for callers that receive images another way
/// (an HTTP upload) and should refuse them as an export would.
/// </summary>
public static class ExportImages
{
    /// <summary>The largest single-particle image file read, in bytes (the decoder's own limit for a stream held in memory).</summary>
    public const long MaxFileBytes = 256L * 1024 * 1024;

    /// <summary>Why <paramref name="image"/> cannot be used as a particle image, or null when it can.</summary>
    /// <param name="source">Names the image in the rejection's message.</param>
    public static ExportRejection? Check(byte[] image, string source)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            using Image<Rgb24> decoded = ParticleImageDecoder.Load(new MemoryStream(image, writable: false), source);
            return null;
        }
        catch (ParticleImageException e)
        {
            return Refused(source, e);
        }
    }

    /// <summary>The decoder's refusal as a rejection of <paramref name="source"/>.</summary>
    internal static ExportRejection Refused(string source, ParticleImageException e) => Rejections.Of(source, ReasonFor(e.Kind), e.Reason);

    /// <summary>Reads and checks the image file at <paramref name="fullPath"/>: its bytes, or why not.</summary>
    internal static ExportEntry? ReadFile(string fullPath, string source, out byte[] bytes)
    {
        bytes = [];
        try
        {
            long length = new FileInfo(fullPath).Length;
            if (length > MaxFileBytes)
            {
                return Rejections.Entry(source, RejectionReason.ImageTooLarge,
                    $"{length:N0} bytes; the limit for a particle image is {MaxFileBytes / (1024 * 1024)} MiB");
            }
            bytes = File.ReadAllBytes(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Rejections.Entry(source, RejectionReason.MissingImage, $"cannot be read: {e.Message}");
        }
        return Check(bytes, source) is { } refused ? new ExportEntry(null, refused) : null;
    }

    private static RejectionReason ReasonFor(ParticleImageProblem problem) => problem switch
    {
        ParticleImageProblem.Empty => RejectionReason.EmptyFile,
        ParticleImageProblem.NotAnImage => RejectionReason.NotAnImage,
        ParticleImageProblem.TooLarge => RejectionReason.ImageTooLarge,
        ParticleImageProblem.Unsupported => RejectionReason.UnsupportedPixelFormat,
        ParticleImageProblem.Unreadable => RejectionReason.MissingImage,
        _ => RejectionReason.CorruptImage,
    };
}
