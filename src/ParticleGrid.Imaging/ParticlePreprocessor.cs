using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ParticleGrid.Imaging;

/// <summary>
/// Turns a particle image into a network input: channel planes (CHW) of a square side, values in [0, 1].
/// Particle images come in any aspect ratio; stretching them would change the very shape the classes differ by,
/// so a non-square image is centred on a square of its own background level first, then resized.
/// All methods are safe to call from several threads at once; the input image is never changed.
/// </summary>
public static class ParticlePreprocessor
{
    private const int Channels = 3;

    /// <summary>
    /// Pads <paramref name="image"/> to a square with its background level (the per-channel median of its border
    /// pixels), resizes it to <paramref name="inputSize"/> with bilinear filtering when it is not that size already,
    /// and returns the planes R, G, B of inputSize x inputSize values each, byte / 255.
    /// An image already inputSize x inputSize keeps its exact pixel values.
    /// </summary>
    public static float[] ToPlanes(Image<Rgb24> image, int inputSize)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);

        int width = image.Width, height = image.Height;
        var pixels = new Rgb24[width * height];
        image.CopyPixelDataTo(pixels);

        int side = Math.Max(width, height);
        Rgb24[] square = width == height ? pixels : PadToSquare(pixels, width, height, side, BorderMedian(pixels, width, height));
        if (side != inputSize) square = Resize(square, side, inputSize);
        return ToChannelPlanes(square, inputSize);
    }

    /// <summary>Normalises planes from <see cref="ToPlanes"/> in place: (value - mean) / std per channel.</summary>
    public static void Normalize(float[] planes, int inputSize, ChannelNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(planes);
        Normalize(planes, planes, inputSize, normalization);
    }

    /// <summary>Normalises <paramref name="planes"/> into <paramref name="destination"/> (the same span is allowed).</summary>
    public static void Normalize(ReadOnlySpan<float> planes, Span<float> destination, int inputSize, ChannelNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        int plane = inputSize * inputSize;
        if (planes.Length != Channels * plane || destination.Length != planes.Length)
        {
            throw new ArgumentException($"Expected {Channels} x {inputSize} x {inputSize} = {Channels * plane} values, got {planes.Length} (into {destination.Length}).", nameof(planes));
        }
        for (int c = 0; c < Channels; c++)
        {
            float mean = normalization.Mean[c], scale = 1f / normalization.Std[c];
            var source = planes.Slice(c * plane, plane);
            var target = destination.Slice(c * plane, plane);
            for (int i = 0; i < source.Length; i++) target[i] = (source[i] - mean) * scale;
        }
    }

    /// <summary>The background level: the median of the outermost ring of pixels, per channel.</summary>
    public static Rgb24 BorderMedian(Image<Rgb24> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var pixels = new Rgb24[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return BorderMedian(pixels, image.Width, image.Height);
    }

    private static Rgb24 BorderMedian(Rgb24[] pixels, int width, int height)
    {
        var border = new List<Rgb24>(2 * (width + height));
        for (int y = 0; y < height; y++)
        {
            bool edgeRow = y == 0 || y == height - 1;
            for (int x = 0; x < width; x++)
            {
                if (edgeRow || x == 0 || x == width - 1) border.Add(pixels[y * width + x]);
            }
        }
        return new Rgb24(Median(border, p => p.R), Median(border, p => p.G), Median(border, p => p.B));
    }

    private static byte Median(List<Rgb24> pixels, Func<Rgb24, byte> channel)
    {
        byte[] values = [.. pixels.Select(channel).Order()];
        return values[values.Length / 2];
    }

    /// <summary>Centres the image on a side x side square filled with <paramref name="background"/>.</summary>
    private static Rgb24[] PadToSquare(Rgb24[] pixels, int width, int height, int side, Rgb24 background)
    {
        var square = new Rgb24[side * side];
        Array.Fill(square, background);
        int left = (side - width) / 2, top = (side - height) / 2;
        for (int y = 0; y < height; y++)
        {
            pixels.AsSpan(y * width, width).CopyTo(square.AsSpan((top + y) * side + left, width));
        }
        return square;
    }

    private static Rgb24[] Resize(Rgb24[] square, int side, int inputSize)
    {
        using Image<Rgb24> image = Image.LoadPixelData<Rgb24>(square, side, side);
        image.Mutate(context => context.Resize(new ResizeOptions
        {
            Size = new Size(inputSize, inputSize),
            Sampler = KnownResamplers.Triangle,
            Mode = ResizeMode.Stretch, // the image is square by now, so this only scales
        }));
        var resized = new Rgb24[inputSize * inputSize];
        image.CopyPixelDataTo(resized);
        return resized;
    }

    private static float[] ToChannelPlanes(Rgb24[] pixels, int size)
    {
        int plane = size * size;
        var planes = new float[Channels * plane];
        for (int i = 0; i < plane; i++)
        {
            planes[i] = pixels[i].R / 255f;
            planes[plane + i] = pixels[i].G / 255f;
            planes[2 * plane + i] = pixels[i].B / 255f;
        }
        return planes;
    }
}
