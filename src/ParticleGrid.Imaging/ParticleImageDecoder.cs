using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging;

/// <summary>
/// Opens particle images that users bring (PNG, TIFF, BMP, JPEG, GIF) as 8-bit RGB, refusing bad files with a
/// <see cref="ParticleImageException"/> before they can cost memory: the header is read first and the pixels
/// are decoded only when the format is known, the size is within limits and the file is complete.
/// Multi-frame GIF and TIFF files give their first frame. Safe to call from several threads at once.
/// </summary>
public static class ParticleImageDecoder
{
    /// <summary>The longest side accepted, in pixels.</summary>
    public const int MaxSide = 8192;

    /// <summary>The most pixels accepted in one image.</summary>
    public const long MaxPixels = 16_000_000;

    /// <summary>The most bytes read from a stream that cannot seek (it has to be held in memory).</summary>
    private const long MaxUnseekableBytes = 256L * 1024 * 1024;

    private const string Unsupported = "not a supported image (PNG, TIFF, BMP, JPEG, GIF)";

    /// <summary>The five formats of particle images, decoding only the first frame of animations and multi-page files.</summary>
    private static readonly Configuration Formats = CreateConfiguration();

    /// <summary>Opens the image file at <paramref name="path"/>.</summary>
    /// <exception cref="ParticleImageException">The file is missing, unreadable, empty, not an image, too large, corrupt or truncated.</exception>
    public static Image<Rgb24> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ParticleImageException(path, "file not found", ParticleImageProblem.Unreadable, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ParticleImageException(path, $"cannot be read: {e.Message}", ParticleImageProblem.Unreadable, e);
        }
        using (file)
        {
            return Load(file, path);
        }
    }

    /// <summary>Opens an image from <paramref name="stream"/> (from its current position); <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="ParticleImageException">The stream is empty, not an image, too large, corrupt or truncated.</exception>
    public static Image<Rgb24> Load(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);

        using Stream? copy = stream.CanSeek ? null : CopyToMemory(stream, name);
        Stream source = copy ?? stream;
        long start = source.Position;
        if (source.Length - start <= 0) throw new ParticleImageException(name, "empty file", ParticleImageProblem.Empty);

        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(Formats, source, out format);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Undecodable(name, e);
        }
        if (info is null || format is null) throw new ParticleImageException(name, Unsupported, ParticleImageProblem.NotAnImage);

        CheckDimensions(name, info.Width, info.Height);
        string? missing;
        try
        {
            missing = FindTruncation(source, start, format);
        }
        catch (IOException e)
        {
            throw new ParticleImageException(name, $"could not be read: {e.Message}", ParticleImageProblem.Unreadable, e);
        }
        if (missing is not null)
        {
            throw new ParticleImageException(name, $"corrupt or truncated image: {missing}", ParticleImageProblem.Corrupt);
        }

        source.Position = start;
        try
        {
            return Image.Load<Rgb24>(Formats, source);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Undecodable(name, e);
        }
    }

    /// <summary>
    /// The width and height <paramref name="image"/>'s header declares, read without decoding a pixel (ImageSharp's
    /// Identify walks the headers and skips the compressed data), so a caller can refuse an image by its size before
    /// the decode allocates it: a few hundred bytes of PNG can declare 50,000 x 50,000 pixels.
    /// </summary>
    /// <exception cref="ParticleImageException">Empty, not an image of a supported format, or a header that cannot be read.</exception>
    public static (int Width, int Height) ReadSize(ReadOnlyMemory<byte> image, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (image.IsEmpty) throw new ParticleImageException(name, "empty file", ParticleImageProblem.Empty);
        IImageInfo? info;
        try
        {
            using var stream = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(image, out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(image.ToArray(), writable: false);
            info = Image.Identify(Formats, stream, out _);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Undecodable(name, e);
        }
        if (info is null) throw new ParticleImageException(name, Unsupported, ParticleImageProblem.NotAnImage);
        return (info.Width, info.Height);
    }

    private static void CheckDimensions(string name, int width, int height)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ParticleImageException(name, $"corrupt or truncated image: the header claims {width} x {height} pixels",
                ParticleImageProblem.Corrupt);
        }
        if (width > MaxSide || height > MaxSide || (long)width * height > MaxPixels)
        {
            throw new ParticleImageException(name,
                $"claims {width} x {height} pixels; the limit is {MaxSide} pixels a side and {MaxPixels:N0} pixels in all",
                ParticleImageProblem.TooLarge);
        }
    }

    /// <summary>
    /// ImageSharp decodes a cut-off PNG, JPEG, BMP or GIF without complaint, filling the missing rows with black.
    /// A particle image with a black band would be misclassified silently, so each format's end is checked:
    /// PNG must reach its IEND chunk, JPEG its end-of-image marker, GIF its trailer byte, BMP the size its header states.
    /// Returns what is missing, or null when the file is complete (TIFF is left to the decoder).
    /// </summary>
    private static string? FindTruncation(Stream source, long start, IImageFormat format)
    {
        long length = source.Length - start;
        if (format is PngFormat) return PngReachesEnd(source, start, length) ? null : "the PNG ends before its IEND chunk";
        if (format is JpegFormat)
        {
            // Only the end-of-image marker can hold FF D9: scan data stuffs FF with 00. Allow a little trailing padding.
            byte[] tail = ReadTail(source, start, length, 64);
            return tail.AsSpan().IndexOf([(byte)0xFF, (byte)0xD9]) >= 0 ? null : "the JPEG ends before its end-of-image marker";
        }
        if (format is GifFormat)
        {
            byte[] tail = ReadTail(source, start, length, 16);
            return tail.AsSpan().TrimEnd((byte)0).EndsWith([(byte)0x3B]) ? null : "the GIF ends before its trailer";
        }
        if (format is BmpFormat)
        {
            source.Position = start + 2;
            Span<byte> size = stackalloc byte[4];
            source.ReadExactly(size);
            long declared = BitConverter.ToUInt32(size);
            return declared > length ? $"the BMP header declares {declared} bytes but the file has {length}" : null;
        }
        return null;
    }

    /// <summary>Walks the PNG chunk list (length, type, data, CRC) until IEND; false if the file ends first.</summary>
    private static bool PngReachesEnd(Stream source, long start, long length)
    {
        long offset = 8; // the signature
        Span<byte> header = stackalloc byte[8];
        while (offset + 12 <= length)
        {
            source.Position = start + offset;
            source.ReadExactly(header);
            uint dataLength = (uint)(header[0] << 24 | header[1] << 16 | header[2] << 8 | header[3]);
            if (header[4..8].SequenceEqual("IEND"u8)) return true;
            offset += 12L + dataLength;
        }
        return false;
    }

    private static byte[] ReadTail(Stream source, long start, long length, int count)
    {
        int take = (int)Math.Min(count, length);
        var tail = new byte[take];
        source.Position = start + length - take;
        source.ReadExactly(tail);
        return tail;
    }

    private static MemoryStream CopyToMemory(Stream stream, string name)
    {
        var memory = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            if (memory.Length + read > MaxUnseekableBytes)
            {
                memory.Dispose();
                throw new ParticleImageException(name, $"more than {MaxUnseekableBytes / (1024 * 1024)} MiB; too large for a particle image",
                    ParticleImageProblem.TooLarge);
            }
            memory.Write(buffer, 0, read);
        }
        memory.Position = 0;
        return memory;
    }

    /// <summary>ImageSharp says NotSupportedException for a variant it cannot read (a TIFF compression or colour space); anything else is damage.</summary>
    private static ParticleImageException Undecodable(string name, Exception e) => e is NotSupportedException
        ? new(name, $"an image variant the decoder cannot read: {e.Message}", ParticleImageProblem.Unsupported, e)
        : new(name, $"corrupt or truncated image: {e.Message}", ParticleImageProblem.Corrupt, e);

    private static Configuration CreateConfiguration()
    {
        var configuration = new Configuration(
            new PngConfigurationModule(),
            new JpegConfigurationModule(),
            new GifConfigurationModule(),
            new BmpConfigurationModule(),
            new TiffConfigurationModule());
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        configuration.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }
}
