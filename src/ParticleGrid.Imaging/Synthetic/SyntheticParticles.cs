using System.Globalization;
using System.Text;
using ParticleGrid.Domain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging;

/// <summary>One synthetic (computer-drawn, not measured) particle image and what it shows.</summary>
/// <param name="Image">The 8-bit grey image; the caller disposes it (or the record).</param>
/// <param name="Type">The particle type drawn.</param>
/// <param name="EcdMicrometres">The particle's equivalent circular diameter as drawn from the size distribution.</param>
public sealed record SyntheticParticle(Image<L8> Image, ParticleType Type, double EcdMicrometres) : IDisposable
{
    /// <summary>The image as the 8-bit grey PNG bytes an instrument export would hand over.</summary>
    public byte[] ToPng()
    {
        using var png = new MemoryStream();
        Image.SaveAsPng(png);
        return png.ToArray();
    }

    public void Dispose() => Image.Dispose();
}

/// <summary>What <see cref="SyntheticParticles.WriteDataset"/> wrote.</summary>
/// <param name="Directory">The data set's root folder (one sub-folder per class).</param>
/// <param name="Counts">Images written per particle type.</param>
public sealed record SyntheticDatasetSummary(
    string Directory,
    IReadOnlyDictionary<ParticleType, int> Counts,
    int Seed,
    int ImageSize,
    double MicrometresPerPixel);

/// <summary>
/// SYNTHETIC flow-imaging-microscopy particles for tests and demos: drawn by this code, not recorded by an
/// instrument, and labelled as such wherever they are written. They imitate how each type looks in FIM (grey,
/// light background, particle darker; see DOMAIN.md) so that a training run can be proved end to end, but they
/// are no substitute for real images when judging a model.
/// </summary>
/// <remarks>
/// Each particle gets a size (ECD, micrometres) from its type's log-uniform range and is drawn at
/// <c>micrometresPerPixel</c>, within two limits. Particles too large for the frame are drawn at most
/// <see cref="LargestRadiusShare"/> of the frame in radius (bubbles: more, so that the frame cuts them), as if the
/// crop had been taken at a coarser scale. Particles smaller than <see cref="SmallestRadiusShare"/> of the frame
/// (at 64 px and 1 um/px: anything under about 18 um) are drawn at that minimum size, as the network sees a real
/// small particle: the instrument cuts it out with a small box, and preprocessing pads and enlarges that crop to
/// the input size. A 2 um particle at 1 um/px covers two pixels and carries no shape, but each type must keep its
/// contrast signature (a bubble's dark core and bright halo, a droplet's bright centre and dark ring, glass's dark
/// corners, protein's faint mottle) for the data set to be learnable at every size.
/// </remarks>
public static class SyntheticParticles
{
    /// <summary>The smallest rendered radius, as a share of the image side (but at least 3.5 pixels).</summary>
    public const double SmallestRadiusShare = 0.14;

    /// <summary>The largest rendered radius of particles other than bubbles, as a share of the image side.</summary>
    public const double LargestRadiusShare = 0.4;

    /// <summary>The largest rendered radius of a bubble, as a share of the image side; larger than the frame's half.</summary>
    public const double LargestBubbleRadiusShare = 0.7;

    /// <summary>The note written at the top of the data set's CSV.</summary>
    public const string SyntheticNote =
        "# SYNTHETIC images drawn by ParticleGrid to imitate FIM particles (not instrument data; for tests and demos only)";

    /// <summary>The study's four types, and <see cref="ParticleType.Fibre"/> after them when <paramref name="includeUnknown"/>.</summary>
    public static IReadOnlyList<ParticleType> ClassesFor(bool includeUnknown) =>
        includeUnknown ? [.. ParticleTypes.StudyTypes, ParticleType.Fibre] : ParticleTypes.StudyTypes;

    /// <summary>Draws one particle of <paramref name="type"/>; the same arguments give the same pixels.</summary>
    /// <param name="imageSize">The side of the square image, 16 to 1024 pixels.</param>
    /// <param name="micrometresPerPixel">The scale at which particle sizes are drawn (FlowCAM 10x: about 0.6–1; MFI: about 1.07).</param>
    /// <param name="seed">Everything random about the particle follows from this.</param>
    public static SyntheticParticle Draw(ParticleType type, int imageSize, double micrometresPerPixel, int seed)
    {
        CheckImageSize(imageSize);
        CheckScale(micrometresPerPixel);
        if (!Enum.IsDefined(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "Not a particle type.");

        // Seeded System.Random gives nearly linear first draws for neighbouring seeds; scramble the seed first.
        var random = new Random(Seeds.Derive(seed, 0));
        var canvas = new ParticleCanvas(imageSize);
        double smallest = Math.Max(3.5, SmallestRadiusShare * imageSize);
        double largest = (type == ParticleType.Bubble ? LargestBubbleRadiusShare : LargestRadiusShare) * imageSize;
        double ecd;
        if (type == ParticleType.Fibre)
        {
            // A fibre's ECD is that of its area: long and thin, so far smaller than its length.
            double lengthUm = LogUniform(random, 25, 150), widthUm = 1.5 + random.NextDouble() * 3;
            ecd = Math.Sqrt(4 * lengthUm * widthUm / Math.PI);
            double length = Math.Clamp(lengthUm / micrometresPerPixel, 0.5 * imageSize, 0.95 * imageSize);
            double width = Math.Clamp(widthUm / micrometresPerPixel, 1.4, 0.06 * imageSize);
            ParticleShapes.Fibre(canvas, random, length, width);
        }
        else
        {
            ecd = type switch
            {
                ParticleType.Bubble => LogUniform(random, 3, 100),
                ParticleType.SiliconeOil => LogUniform(random, 2, 40), // mostly 1–20 um
                ParticleType.Glass => LogUniform(random, 3, 75),       // the study sieved at 75 um
                _ => LogUniform(random, 2, 100),
            };
            double radius = Math.Clamp(ecd / 2 / micrometresPerPixel, smallest, largest);
            switch (type)
            {
                case ParticleType.Bubble: ParticleShapes.Bubble(canvas, random, radius); break;
                case ParticleType.SiliconeOil: ParticleShapes.SiliconeOil(canvas, random, radius, smallest * 0.8); break;
                case ParticleType.Glass: ParticleShapes.Glass(canvas, random, radius); break;
                default: ParticleShapes.Protein(canvas, random, radius); break;
            }
        }

        // Focus varies from frame to frame: a slight blur of up to 0.7 pixel.
        double blur = 0.25 + random.NextDouble() * 0.45;
        return new SyntheticParticle(canvas.Expose(random, blur), type, ecd);
    }

    /// <summary>
    /// Writes a synthetic data set: <c>outDirectory/&lt;folder&gt;/&lt;folder&gt;_00001.png</c> (8-bit grey PNG),
    /// <paramref name="perClass"/> images for each class of <see cref="ClassesFor"/>, and <c>outDirectory/synthetic.csv</c>
    /// (file, class, ecd_um, um_per_pixel, seed; its first line notes that the images are synthetic).
    /// Each image's seed is derived from (<paramref name="seed"/>, class, index), so the files are byte-identical
    /// from run to run however the parallel work is scheduled.
    /// </summary>
    /// <param name="progress">Told the number of images written so far, from the worker threads (so not always in order).</param>
    /// <exception cref="IOException">A class folder already holds PNG files this run would not write (from another run).</exception>
    public static SyntheticDatasetSummary WriteDataset(
        string outDirectory,
        int perClass,
        int seed,
        int imageSize = 64,
        double micrometresPerPixel = 1.0,
        bool includeUnknown = false,
        IProgress<int>? progress = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(perClass, 1);
        CheckImageSize(imageSize);
        CheckScale(micrometresPerPixel);

        IReadOnlyList<ParticleType> classes = ClassesFor(includeUnknown);
        string root = Path.GetFullPath(outDirectory);
        foreach (ParticleType type in classes) PrepareClassFolder(root, type, perClass);

        var ecd = new double[classes.Count * perClass];
        var seeds = new int[ecd.Length];
        var encoder = new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit8 };
        int written = 0;
        Parallel.For(0, ecd.Length, item =>
        {
            ParticleType type = classes[item / perClass];
            int index = item % perClass + 1;
            seeds[item] = ImageSeed(seed, type, index);
            using SyntheticParticle particle = Draw(type, imageSize, micrometresPerPixel, seeds[item]);
            particle.Image.Save(Path.Combine(root, RelativePath(type, index)), encoder);
            ecd[item] = particle.EcdMicrometres;
            progress?.Report(Interlocked.Increment(ref written));
        });

        var csv = new StringBuilder();
        csv.AppendLine(SyntheticNote);
        csv.AppendLine("file,class,ecd_um,um_per_pixel,seed");
        for (int item = 0; item < ecd.Length; item++)
        {
            ParticleType type = classes[item / perClass];
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{RelativePath(type, item % perClass + 1)},{ParticleTypes.FolderName(type)},{ecd[item]:0.###},{micrometresPerPixel:R},{seeds[item]}"));
        }
        File.WriteAllText(Path.Combine(root, "synthetic.csv"), csv.ToString());

        return new SyntheticDatasetSummary(root, classes.ToDictionary(t => t, _ => perClass), seed, imageSize, micrometresPerPixel);
    }

    /// <summary>The seed of one image, from the data set's seed, its class and its 1-based index; the same in every process.</summary>
    public static int ImageSeed(int datasetSeed, ParticleType type, int index) =>
        Seeds.Derive(datasetSeed, unchecked((long)(int)type << 24 ^ index));

    /// <summary>Where image <paramref name="index"/> (1-based) of a class goes, relative to the data set's root, with '/' separators.</summary>
    public static string RelativePath(ParticleType type, int index)
    {
        string folder = ParticleTypes.FolderName(type);
        return string.Create(CultureInfo.InvariantCulture, $"{folder}/{folder}_{index:D5}.png");
    }

    private static void PrepareClassFolder(string root, ParticleType type, int perClass)
    {
        string folder = Path.Combine(root, ParticleTypes.FolderName(type));
        Directory.CreateDirectory(folder);
        var ours = Enumerable.Range(1, perClass).Select(i => Path.GetFileName(RelativePath(type, i))).ToHashSet();
        string? stranger = Directory.EnumerateFiles(folder, "*.png").Select(Path.GetFileName).FirstOrDefault(name => !ours.Contains(name!));
        if (stranger is not null)
        {
            throw new IOException(
                $"{folder} already holds {stranger}, which this data set would not write; choose an empty folder so runs do not mix.");
        }
    }

    private static double LogUniform(Random random, double low, double high) =>
        Math.Exp(Math.Log(low) + random.NextDouble() * (Math.Log(high) - Math.Log(low)));

    private static void CheckImageSize(int imageSize)
    {
        if (imageSize is < 16 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "The image side must be 16 to 1024 pixels.");
        }
    }

    private static void CheckScale(double micrometresPerPixel)
    {
        if (!(micrometresPerPixel > 0) || double.IsInfinity(micrometresPerPixel))
        {
            throw new ArgumentOutOfRangeException(nameof(micrometresPerPixel), micrometresPerPixel, "The scale must be a positive number of micrometres per pixel.");
        }
    }
}
