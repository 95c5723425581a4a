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

/// <summary>One synthetic image of something outside the four types (<see cref="OutOfScopeKind"/>); the caller disposes it.</summary>
/// <param name="EcdMicrometres">The equivalent circular diameter as drawn (for schlieren, of the streak's extent: it has no outline).</param>
public sealed record OutOfScopeParticle(Image<L8> Image, OutOfScopeKind Kind, double EcdMicrometres) : IDisposable
{
    public void Dispose() => Image.Dispose();
}

/// <summary>
/// Artefacts of imaging that happen to particles of the four types (DOMAIN.md): the particle stays what it is, in
/// scope and in its class folder; only its picture is spoilt.
/// </summary>
public enum ImagingArtefact
{
    /// <summary>As the generator draws it (bubbles are still often cut by the frame, as large ones are).</summary>
    None,

    /// <summary>The frame edge cuts off a quarter to a half of the particle: its size can only be a lower bound.</summary>
    CutByFrame,

    /// <summary>Out of focus: blurred 1.4-2.6 px, with a bright halo outside and a darker ring inside its outline.</summary>
    OutOfFocus,
}

/// <summary>What <see cref="SyntheticParticles.WriteDataset"/> wrote.</summary>
/// <param name="Directory">The data set's root folder (one sub-folder per class).</param>
/// <param name="Counts">Images written per particle type.</param>
/// <param name="Look">The instrument look the images were drawn with.</param>
/// <param name="Artefact">The imaging artefact every image shows (<see cref="ImagingArtefact.None"/>: as drawn).</param>
public sealed record SyntheticDatasetSummary(
    string Directory,
    IReadOnlyDictionary<ParticleType, int> Counts,
    int Seed,
    int ImageSize,
    double MicrometresPerPixel,
    InstrumentLook Look,
    ImagingArtefact Artefact);

/// <summary>What <see cref="SyntheticParticles.WriteOutOfScopeSet"/> wrote.</summary>
/// <param name="Counts">Images written per out-of-scope kind.</param>
public sealed record OutOfScopeSetSummary(
    string Directory,
    IReadOnlyDictionary<OutOfScopeKind, int> Counts,
    int Seed,
    int ImageSize,
    double MicrometresPerPixel,
    InstrumentLook Look);

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

    /// <summary>The note written at the top of an out-of-scope set's CSV and in its README.</summary>
    public const string OutOfScopeNote =
        "# SYNTHETIC OUT-OF-SCOPE images (fibre, schlieren, debris, agglomerate): none of the four types. For testing the " +
        "'unknown' answer only: never train on them, never mix them into a training set. `particlegrid train` refuses these folders.";

    /// <summary>Draws one particle of <paramref name="type"/>; the same arguments give the same pixels.</summary>
    /// <param name="imageSize">The side of the square image, 16 to 1024 pixels.</param>
    /// <param name="micrometresPerPixel">The scale at which particle sizes are drawn (FlowCAM 10x: about 0.6–1; MFI: about 1.07).</param>
    /// <param name="seed">Everything random about the particle follows from this.</param>
    /// <param name="look">The instrument look (<see cref="InstrumentLook.Default"/> when null); its pixel size is the caller's to apply to <paramref name="micrometresPerPixel"/>.</param>
    /// <param name="artefact">An imaging artefact to give the particle (it stays in scope).</param>
    public static SyntheticParticle Draw(
        ParticleType type, int imageSize, double micrometresPerPixel, int seed,
        InstrumentLook? look = null, ImagingArtefact artefact = ImagingArtefact.None)
    {
        CheckImageSize(imageSize);
        CheckScale(micrometresPerPixel);
        if (!Enum.IsDefined(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "Not a particle type.");
        if (!Enum.IsDefined(artefact)) throw new ArgumentOutOfRangeException(nameof(artefact), artefact, "Not an imaging artefact.");
        if (type == ParticleType.Fibre)
        {
            // Fibres are out of scope: drawn as the out-of-scope kind, so that there is one way fibres look.
            using OutOfScopeParticle fibre = DrawOutOfScope(OutOfScopeKind.Fibre, imageSize, micrometresPerPixel, seed, look);
            return new SyntheticParticle(fibre.Image.Clone(), ParticleType.Fibre, fibre.EcdMicrometres);
        }

        // Seeded System.Random gives nearly linear first draws for neighbouring seeds; scramble the seed first.
        var random = new Random(Seeds.Derive(seed, 0));
        var canvas = new ParticleCanvas(imageSize);
        double smallest = Math.Max(3.5, SmallestRadiusShare * imageSize);
        double largest = (type == ParticleType.Bubble ? LargestBubbleRadiusShare : LargestRadiusShare) * imageSize;
        double ecd = type switch
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

        // Focus varies from frame to frame: a slight blur of up to 0.7 pixel.
        double blur = 0.25 + random.NextDouble() * 0.45;

        // Artefacts draw from a stream of their own, so that the particle itself (size, shape, placement) is the one
        // the same seed gives without the artefact.
        double defocus = 0;
        if (artefact != ImagingArtefact.None)
        {
            var spoil = new Random(Seeds.Derive(seed, 1));
            if (artefact == ImagingArtefact.CutByFrame) canvas.CutByFrame(spoil, 0.25 + spoil.NextDouble() * 0.25);
            else
            {
                blur = 1.4 + spoil.NextDouble() * 1.2;
                defocus = 1.5 + spoil.NextDouble() * 1.5;
            }
        }
        return new SyntheticParticle(canvas.Expose(random, blur, look, defocus), type, ecd);
    }

    /// <summary>
    /// Draws one out-of-scope object of <paramref name="kind"/> (DOMAIN.md, "What the four classes do not cover");
    /// the same arguments give the same pixels. Sizes follow <paramref name="micrometresPerPixel"/> within the frame,
    /// as for the four types.
    /// </summary>
    public static OutOfScopeParticle DrawOutOfScope(OutOfScopeKind kind, int imageSize, double micrometresPerPixel, int seed, InstrumentLook? look = null)
    {
        CheckImageSize(imageSize);
        CheckScale(micrometresPerPixel);
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an out-of-scope kind.");

        var random = new Random(Seeds.Derive(seed, 0));
        var canvas = new ParticleCanvas(imageSize);
        double smallest = Math.Max(3.5, SmallestRadiusShare * imageSize);
        double ecd;
        switch (kind)
        {
            case OutOfScopeKind.Fibre:
            {
                // A fibre's ECD is that of its area: long and thin, so far smaller than its length. Lengths past the
                // frame are drawn at most 0.95 of it, as if cropped at a coarser scale (as large particles are).
                double lengthUm = LogUniform(random, 40, 400), widthUm = 2 + random.NextDouble() * 6;
                ecd = Math.Sqrt(4 * lengthUm * widthUm / Math.PI);
                double length = Math.Clamp(lengthUm / micrometresPerPixel, 0.55 * imageSize, 0.95 * imageSize);
                double width = Math.Clamp(widthUm / micrometresPerPixel, 1.3, Math.Max(1.3, 0.07 * imageSize));
                OutOfScopeShapes.Fibre(canvas, random, length, width);
                break;
            }
            case OutOfScopeKind.Schlieren:
                ecd = OutOfScopeShapes.Schlieren(canvas, random) * micrometresPerPixel;
                break;
            case OutOfScopeKind.Debris:
                ecd = LogUniform(random, 5, 150);
                OutOfScopeShapes.Debris(canvas, random, Math.Clamp(ecd / 2 / micrometresPerPixel, smallest, 0.33 * imageSize));
                break;
            default:
                // Clusters need room for several members of a few pixels each.
                ecd = LogUniform(random, 10, 120);
                OutOfScopeShapes.Agglomerate(canvas, random, Math.Clamp(ecd / 2 / micrometresPerPixel, Math.Max(8, smallest), 0.3 * imageSize));
                break;
        }
        double blur = 0.25 + random.NextDouble() * 0.45;
        return new OutOfScopeParticle(canvas.Expose(random, blur, look), kind, ecd);
    }

    /// <summary>
    /// Writes a synthetic data set of the four types: <c>outDirectory/&lt;folder&gt;/&lt;folder&gt;_00001.png</c> (8-bit
    /// grey PNG), <paramref name="perClass"/> images for each of <see cref="ParticleTypes.StudyTypes"/>, and
    /// <c>outDirectory/synthetic.csv</c> (file, class, ecd_um, um_per_pixel, seed; its first line notes that the images
    /// are synthetic, and names the look and artefact when they are not the default).
    /// Each image's seed is derived from (<paramref name="seed"/>, class, index), so the files are byte-identical
    /// from run to run however the parallel work is scheduled, and the same seed draws the same particles in every look.
    /// </summary>
    /// <param name="micrometresPerPixel">The scale; null takes the look's pixel size, or 1 um per pixel.</param>
    /// <param name="look">The instrument look (<see cref="InstrumentLook.Default"/> when null): a shifted test set is still in scope.</param>
    /// <param name="artefact">An imaging artefact every image shows; the particles stay in scope, in their class folders.</param>
    /// <param name="progress">Told the number of images written so far, from the worker threads (so not always in order).</param>
    /// <exception cref="IOException">
    /// A class folder already holds PNG files this run would not write (from another run), or the folder holds
    /// out-of-scope folders (see <see cref="WriteOutOfScopeSet"/>): the two must never share a root.
    /// </exception>
    public static SyntheticDatasetSummary WriteDataset(
        string outDirectory,
        int perClass,
        int seed,
        int imageSize = 64,
        double? micrometresPerPixel = null,
        InstrumentLook? look = null,
        ImagingArtefact artefact = ImagingArtefact.None,
        IProgress<int>? progress = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(perClass, 1);
        CheckImageSize(imageSize);
        (look, double scale) = LookAndScale(look, micrometresPerPixel);
        if (!Enum.IsDefined(artefact)) throw new ArgumentOutOfRangeException(nameof(artefact), artefact, "Not an imaging artefact.");

        IReadOnlyList<ParticleType> classes = ParticleTypes.StudyTypes;
        string root = Path.GetFullPath(outDirectory);
        RefuseToMix(root, inScope: true);
        // The default look and no artefact keep the note exactly as it was (the demo's data is pinned byte for byte).
        string note = look.IsDefault && artefact == ImagingArtefact.None
            ? SyntheticNote
            : $"{SyntheticNote}; SHIFTED: instrument look {look.Name} ({look.Summary}), imaging artefact {ArtefactName(artefact)}";
        WriteClassFolders(root, classes, perClass, ParticleTypes.FolderName, RelativePath, scale, note, progress, (type, index) =>
        {
            int imageSeed = ImageSeed(seed, type, index);
            var particle = Draw(type, imageSize, scale, imageSeed, look, artefact);
            return (particle, particle.Image, particle.EcdMicrometres, imageSeed);
        });

        return new SyntheticDatasetSummary(root, classes.ToDictionary(t => t, _ => perClass), seed, imageSize, scale, look, artefact);
    }

    /// <summary>The look a set is drawn with (the default when none is given) and its scale: the one given, else the look's pixel size, else 1 um per pixel.</summary>
    private static (InstrumentLook Look, double Scale) LookAndScale(InstrumentLook? look, double? micrometresPerPixel)
    {
        look ??= InstrumentLook.Default;
        double scale = micrometresPerPixel ?? look.MicrometresPerPixel ?? 1.0;
        CheckScale(scale);
        return (look, scale);
    }

    /// <summary>
    /// What both sets share: <paramref name="perClass"/> images of each class in the class's own folder under
    /// <paramref name="root"/>, and the synthetic.csv that lists them in class order. <paramref name="draw"/> draws the
    /// image of a class with its index (from 1) and gives the drawing (disposed here), its image, ECD and seed.
    /// </summary>
    private static void WriteClassFolders<TClass>(string root, IReadOnlyList<TClass> classes, int perClass, Func<TClass, string> folderName,
        Func<TClass, int, string> relativePath, double scale, string note, IProgress<int>? progress,
        Func<TClass, int, (IDisposable Owner, Image<L8> Image, double Ecd, int Seed)> draw)
    {
        foreach (TClass c in classes) PrepareClassFolder(root, folderName(c), perClass);

        (TClass Class, int Index) At(int item) => (classes[item / perClass], item % perClass + 1);
        var (ecd, seeds) = DrawAll(root, classes.Count * perClass, progress, item =>
        {
            var (c, index) = At(item);
            var drawn = draw(c, index);
            return (drawn.Owner, drawn.Image, drawn.Ecd, drawn.Seed, relativePath(c, index));
        });
        WriteCsv(root, note, ecd.Length, item =>
        {
            var (c, index) = At(item);
            return (relativePath(c, index), folderName(c), ecd[item], seeds[item]);
        }, scale);
    }

    /// <summary>
    /// Draws <paramref name="count"/> images in parallel and saves each as an 8-bit grey PNG under <paramref name="root"/>;
    /// returns each one's ECD and seed for the CSV. <paramref name="draw"/> gives the drawing (disposed here), its image,
    /// ECD, seed and path relative to the root.
    /// </summary>
    private static (double[] Ecd, int[] Seeds) DrawAll(string root, int count, IProgress<int>? progress,
        Func<int, (IDisposable Owner, Image<L8> Image, double Ecd, int Seed, string RelativePath)> draw)
    {
        var ecd = new double[count];
        var seeds = new int[count];
        var encoder = new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit8 };
        int written = 0;
        Parallel.For(0, count, item =>
        {
            var drawn = draw(item);
            using (drawn.Owner) drawn.Image.Save(Path.Combine(root, drawn.RelativePath), encoder);
            (ecd[item], seeds[item]) = (drawn.Ecd, drawn.Seed);
            progress?.Report(Interlocked.Increment(ref written));
        });
        return (ecd, seeds);
    }

    /// <summary>
    /// Writes an OUT-OF-SCOPE test set: <c>outDirectory/{fibre,schlieren,debris,agglomerate}/&lt;folder&gt;_00001.png</c>,
    /// <paramref name="perKind"/> of each, a <c>synthetic.csv</c> like the in-scope one's and an <c>OUT-OF-SCOPE.txt</c>
    /// saying what the folder is for. These images test the "unknown" answer; they must never be trained on, so they
    /// get a root of their own: a folder that holds any of the four class folders is refused, and
    /// <c>particlegrid train</c> refuses any data folder with one of these folder names.
    /// </summary>
    /// <exception cref="IOException">The folder holds in-scope class folders, or PNG files this run would not write.</exception>
    public static OutOfScopeSetSummary WriteOutOfScopeSet(
        string outDirectory,
        int perKind,
        int seed,
        int imageSize = 64,
        double? micrometresPerPixel = null,
        InstrumentLook? look = null,
        IProgress<int>? progress = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(perKind, 1);
        CheckImageSize(imageSize);
        (look, double scale) = LookAndScale(look, micrometresPerPixel);

        IReadOnlyList<OutOfScopeKind> kinds = OutOfScopeKinds.All;
        string root = Path.GetFullPath(outDirectory);
        RefuseToMix(root, inScope: false);
        string note = look.IsDefault ? OutOfScopeNote : $"{OutOfScopeNote}; instrument look {look.Name} ({look.Summary})";
        WriteClassFolders(root, kinds, perKind, OutOfScopeKinds.FolderName, OutOfScopeRelativePath, scale, note, progress, (kind, index) =>
        {
            int imageSeed = OutOfScopeSeed(seed, kind, index);
            var particle = DrawOutOfScope(kind, imageSize, scale, imageSeed, look);
            return (particle, particle.Image, particle.EcdMicrometres, imageSeed);
        });
        File.WriteAllText(Path.Combine(root, OutOfScopeMarker), note.TrimStart('#', ' ') + Environment.NewLine);

        return new OutOfScopeSetSummary(root, kinds.ToDictionary(k => k, _ => perKind), seed, imageSize, scale, look);
    }

    /// <summary>The file an out-of-scope set carries at its root, saying what it is for.</summary>
    public const string OutOfScopeMarker = "OUT-OF-SCOPE.txt";

    /// <summary>The seed of one out-of-scope image: a stream apart from every in-scope class's, so no image repeats one of theirs.</summary>
    public static int OutOfScopeSeed(int datasetSeed, OutOfScopeKind kind, int index) =>
        Seeds.Derive(datasetSeed, unchecked((long)(16 + (int)kind) << 24 ^ index));

    /// <summary>Where out-of-scope image <paramref name="index"/> (1-based) goes, relative to the set's root.</summary>
    public static string OutOfScopeRelativePath(OutOfScopeKind kind, int index)
    {
        string folder = OutOfScopeKinds.FolderName(kind);
        return string.Create(CultureInfo.InvariantCulture, $"{folder}/{folder}_{index:D5}.png");
    }

    /// <summary>The artefact's name on the command line: "none", "cut-by-frame", "out-of-focus".</summary>
    public static string ArtefactName(ImagingArtefact artefact) => artefact switch
    {
        ImagingArtefact.None => "none",
        ImagingArtefact.CutByFrame => "cut-by-frame",
        ImagingArtefact.OutOfFocus => "out-of-focus",
        _ => throw new ArgumentOutOfRangeException(nameof(artefact), artefact, "Not an imaging artefact."),
    };

    private static void WriteCsv(string root, string note, int count, Func<int, (string File, string Class, double Ecd, int Seed)> row, double scale)
    {
        var csv = new StringBuilder();
        csv.AppendLine(note);
        csv.AppendLine("file,class,ecd_um,um_per_pixel,seed");
        for (int item = 0; item < count; item++)
        {
            var (file, folder, ecd, imageSeed) = row(item);
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{file},{folder},{ecd:0.###},{scale:R},{imageSeed}"));
        }
        File.WriteAllText(Path.Combine(root, "synthetic.csv"), csv.ToString());
    }

    /// <summary>
    /// Keeps in-scope and out-of-scope images from ever sharing a root: a training run pointed at the root would take
    /// every sub-folder as a class. The names are read as loosely as class folders are ("Fibres", "silicone-oil").
    /// </summary>
    private static void RefuseToMix(string root, bool inScope)
    {
        if (!Directory.Exists(root)) return;
        foreach (string folder in Directory.EnumerateDirectories(root).Select(Path.GetFileName).OfType<string>())
        {
            bool outOfScope = OutOfScopeKinds.TryParse(folder, out _);
            bool studyType = ParticleTypes.TryParse(folder, out ParticleType type) && ParticleTypes.StudyTypes.Contains(type);
            if (inScope && outOfScope)
            {
                throw new IOException(
                    $"{Path.Combine(root, folder)} is an out-of-scope folder; in-scope training data must not share a folder with it (write the four types elsewhere).");
            }
            if (!inScope && studyType)
            {
                throw new IOException(
                    $"{Path.Combine(root, folder)} holds one of the four types; out-of-scope images must never share a folder with training data (write them elsewhere).");
            }
        }
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

    private static void PrepareClassFolder(string root, string folderName, int perClass)
    {
        string folder = Path.Combine(root, folderName);
        Directory.CreateDirectory(folder);
        var ours = Enumerable.Range(1, perClass).Select(i => string.Create(CultureInfo.InvariantCulture, $"{folderName}_{i:D5}.png")).ToHashSet();
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
