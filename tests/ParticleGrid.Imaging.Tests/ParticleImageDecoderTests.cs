using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging.Tests;

public sealed class ParticleImageDecoderTests : IDisposable
{
    private readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>A 40 x 30 grey test picture with a dark square: enough structure to notice a bad decode.</summary>
    private static Image<Rgb24> Picture(int width = 40, int height = 30, int seed = 1)
    {
        var random = new Random(seed);
        var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            byte grey = x is >= 10 and < 20 && y is >= 10 and < 20 ? (byte)30 : (byte)(190 + random.Next(20));
            image[x, y] = new Rgb24(grey, grey, grey);
        }
        return image;
    }

    private static byte[] Encode(Image image, IImageEncoder encoder)
    {
        using var memory = new MemoryStream();
        image.Save(memory, encoder);
        return memory.ToArray();
    }

    private string Write(string name, byte[] bytes)
    {
        string path = _folder.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static ParticleImageException Refused(string path) =>
        Assert.Throws<ParticleImageException>(() => ParticleImageDecoder.Load(path).Dispose());

    [Fact]
    public void Refuses_an_empty_file()
    {
        string path = Write("empty.png", []);
        ParticleImageException error = Refused(path);
        Assert.Equal($"{path}: empty file", error.Message);
        Assert.Equal("empty file", error.Reason);
    }

    [Fact]
    public void Refuses_text_named_png()
    {
        string path = Write("notes.png", Encoding.UTF8.GetBytes("particle 17: looked like glass\n"));
        Assert.Equal($"{path}: not a supported image (PNG, TIFF, BMP, JPEG, GIF)", Refused(path).Message);
    }

    [Fact]
    public void Refuses_a_missing_file() =>
        Assert.EndsWith(": file not found", Refused(_folder.File("nowhere.png")).Message);

    [Fact]
    public void Refuses_a_truncated_png()
    {
        using Image<Rgb24> picture = Picture(200, 200);
        byte[] png = Encode(picture, new PngEncoder());
        foreach (int cut in new[] { 20, png.Length / 2, png.Length - 6 })
        {
            ParticleImageException error = Refused(Write($"cut{cut}.png", png[..cut]));
            Assert.Contains(": corrupt or truncated image: ", error.Message);
            Assert.DoesNotContain('\n', error.Message);
        }
    }

    [Theory]
    [InlineData("jpg")]
    [InlineData("gif")]
    [InlineData("bmp")]
    [InlineData("tif")]
    public void Refuses_other_truncated_formats(string extension)
    {
        using Image<Rgb24> picture = Picture(120, 120);
        byte[] bytes = Encode(picture, EncoderFor(extension));
        Assert.Contains("corrupt or truncated image", Refused(Write("cut." + extension, bytes[..(bytes.Length / 2)])).Message);
    }

    [Fact]
    public void Refuses_a_png_header_claiming_huge_dimensions_before_decoding()
    {
        string path = Write("huge.png", PngWithHeaderOnly(100_000, 100_000));
        ParticleImageException error = Refused(path);
        Assert.StartsWith($"{path}: claims 100000 x 100000 pixels; the limit is {ParticleImageDecoder.MaxSide}", error.Message);
    }

    [Fact]
    public void Refuses_too_many_pixels_even_within_the_side_limit()
    {
        // 8000 x 8000 is within 8192 a side but 64 million pixels.
        Assert.Contains("claims 8000 x 8000 pixels", Refused(Write("wide.png", PngWithHeaderOnly(8000, 8000))).Message);
    }

    [Theory]
    [InlineData("png")]
    [InlineData("bmp")]
    [InlineData("tif")]
    public void Loads_lossless_formats_with_exact_pixels(string extension)
    {
        using Image<Rgb24> picture = Picture();
        string path = Write("particle." + extension, Encode(picture, EncoderFor(extension)));

        using Image<Rgb24> loaded = ParticleImageDecoder.Load(path);

        Assert.Equal((40, 30), (loaded.Width, loaded.Height));
        Assert.Equal(picture[15, 15], loaded[15, 15]);
        Assert.Equal(picture[3, 27], loaded[3, 27]);
    }

    [Theory]
    [InlineData("jpg")]
    [InlineData("gif")] // a palette of at most 256 colours, quantised
    public void Loads_lossy_formats_close_to_the_original(string extension)
    {
        using Image<Rgb24> picture = Picture();
        string path = Write("particle." + extension, Encode(picture, EncoderFor(extension)));

        using Image<Rgb24> loaded = ParticleImageDecoder.Load(path);

        Assert.Equal((40, 30), (loaded.Width, loaded.Height));
        Assert.InRange(loaded[15, 15].R, 0, 60);   // inside the dark square
        Assert.InRange(loaded[35, 5].R, 170, 230); // background
    }

    [Fact]
    public void Loads_16_bit_grey_tiff_as_rgb()
    {
        using var grey = new Image<L16>(8, 8, new L16(40000));
        string path = Write("grey16.tif", Encode(grey, new TiffEncoder()));
        using Image<Rgb24> loaded = ParticleImageDecoder.Load(path);
        Assert.Equal(new Rgb24(156, 156, 156), loaded[4, 4]); // 40000 / 65535 * 255
    }

    [Fact]
    public void Loads_from_a_stream_that_cannot_seek()
    {
        using Image<Rgb24> picture = Picture();
        using var stream = new ForwardOnlyStream(Encode(picture, new PngEncoder()));
        using Image<Rgb24> loaded = ParticleImageDecoder.Load(stream, "upload");
        Assert.Equal(picture[15, 15], loaded[15, 15]);

        using var empty = new ForwardOnlyStream([]);
        Assert.Equal("upload: empty file", Assert.Throws<ParticleImageException>(() => ParticleImageDecoder.Load(empty, "upload")).Message);
    }

    private static IImageEncoder EncoderFor(string extension) => extension switch
    {
        "png" => new PngEncoder(),
        "bmp" => new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 },
        "tif" => new TiffEncoder(),
        "gif" => new GifEncoder(),
        "jpg" => new JpegEncoder { Quality = 95 },
        _ => throw new ArgumentOutOfRangeException(nameof(extension)),
    };

    /// <summary>A PNG signature, an IHDR chunk for width x height 8-bit RGB with a valid CRC, and IEND; no pixel data.</summary>
    private static byte[] PngWithHeaderOnly(int width, int height)
    {
        var png = new List<byte>([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: RGB
        AddChunk(png, "IHDR", header);
        AddChunk(png, "IEND", []);
        return [.. png];
    }

    private static void AddChunk(List<byte> png, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        png.AddRange(length);
        png.AddRange(typeAndData);
        png.AddRange(crc);
    }

    /// <summary>The CRC-32 of PNG chunks (ISO 3309, polynomial 0xEDB88320, reflected).</summary>
    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    [Fact]
    public void Crc_matches_the_png_specification_example() =>
        Assert.Equal(0xAE426082u, Crc32(Encoding.ASCII.GetBytes("IEND")));

    /// <summary>A read-only stream that cannot seek, like a network upload.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
