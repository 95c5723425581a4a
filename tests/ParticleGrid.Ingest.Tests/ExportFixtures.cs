using System.Globalization;
using System.Text;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Ingest.Tests;

/// <summary>A particle a fixture wrote, and what a reader should give back for it.</summary>
/// <param name="Grey">The particle's pixels, row by row (the synthetic images are 8-bit grey).</param>
/// <param name="Box">Where it sits in its collage (FlowCAM), else null.</param>
internal sealed record WrittenParticle(
    string Id, double? Ecd, double? MicrometresPerPixel, string? ClassLabel, int Width, int Height, byte[] Grey,
    string? Collage = null, Rectangle? Box = null, double? AspectRatio = null, double? Circularity = null);

/// <summary>A run folder's files held in memory (so tests can damage them), and the particles they hold.</summary>
internal sealed class ExportFixture
{
    public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);

    public List<WrittenParticle> Particles { get; } = [];

    public void Add(string relativePath, string text) => Files[relativePath] = Encoding.UTF8.GetBytes(text);

    public string Text(string relativePath) => Encoding.UTF8.GetString(Files[relativePath]);

    public void WriteTo(string folder)
    {
        foreach ((string relative, byte[] bytes) in Files)
        {
            string path = Path.Combine(folder, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }
    }
}

/// <summary>
/// Small SYNTHETIC instrument exports, drawn with <see cref="SyntheticParticles"/>: a FlowCAM run (two collage TIFFs,
/// a calibration image, the list as .lst or .csv), an MFI run (one PNG or TIFF per particle and its CSV) and an image
/// folder (class sub-folders, a loose image, particles.csv, files to ignore).
/// </summary>
internal static class ExportFixtures
{
    public const double FlowCamCalibration = 0.7;
    public const string FlowCamLst = "run_001.lst";
    public const string FlowCamCsv = "run_001.csv";
    public const string MfiCsv = "mfi_export.csv";

    private static readonly ParticleType[] Types = [ParticleType.Bubble, ParticleType.SiliconeOil, ParticleType.Glass, ParticleType.Protein];

    /// <summary>
    /// Six particles in two 160 x 100 collages, listed out of collage order (1, 1, 2, 1, 2, 2) so that a collage is
    /// opened again; ESD and ABD differ so that a test sees which one was used.
    /// </summary>
    public static ExportFixture FlowCam(bool asLst)
    {
        var fixture = new ExportFixture();
        string[] collages = ["collage_00001.tif", "collage_00002.tif"];
        int[] collageOf = [0, 0, 1, 0, 1, 1];
        using var first = new Image<L8>(160, 100, new L8(210));
        using var second = new Image<L8>(160, 100, new L8(205));
        Image<L8>[] canvases = [first, second];
        int[] nextX = [0, 0];

        var rows = new List<string[]>();
        for (int i = 0; i < collageOf.Length; i++)
        {
            int size = 24 + 4 * (i % 4);
            using SyntheticParticle particle = SyntheticParticles.Draw(Types[i % 4], size, FlowCamCalibration, seed: 100 + i);
            int c = collageOf[i];
            var box = new Rectangle(nextX[c] + 3, 5 + 11 * (i % 3), size, size);
            nextX[c] += size + 6;
            Paste(particle.Image, canvases[c], box.Location);
            double esd = Math.Round(particle.EcdMicrometres, 3), abd = Math.Round(esd * 1.1, 3);
            string id = (i + 1).ToString(CultureInfo.InvariantCulture);
            fixture.Particles.Add(new WrittenParticle(id, esd, FlowCamCalibration, null, size, size, Pixels(particle.Image),
                collages[c], box, AspectRatio: 0.5 + i / 20.0, Circularity: 0.9 - i / 50.0));
            rows.Add([id, Number(Math.PI * abd * abd / 4), Number(abd), Number(esd), Number(0.5 + i / 20.0), Number(0.9 - i / 50.0),
                Number(120.5 + i), Number(0.4), Number(300 + 10 * i), Number(200 + 5 * i), Number(FlowCamCalibration), collages[c],
                Number(box.X), Number(box.Y), Number(box.Width), Number(box.Height)]);
        }
        fixture.Files[collages[0]] = Encode(first, new TiffEncoder());
        fixture.Files[collages[1]] = Encode(second, new TiffEncoder());
        using var calibration = new Image<L8>(160, 100, new L8(200));
        fixture.Files["cal_image_000001.tif"] = Encode(calibration, new TiffEncoder());

        if (asLst)
        {
            string[] fields = ["id", "abd_area", "abd_diameter", "esd_diameter", "aspect_ratio", "circularity", "intensity", "transparency",
                "capture_x", "capture_y", "calibration_factor", "collage_file", "image_x", "image_y", "image_w", "image_h"];
            var lst = new StringBuilder("016\r\n").Append($"num-fields|{fields.Length}\r\n");
            foreach (string field in fields) lst.Append($"{field}|{(field == "collage_file" ? 3 : 9)}\r\n");
            foreach (string[] row in rows) lst.Append(string.Join('|', row)).Append("\r\n");
            fixture.Add(FlowCamLst, lst.ToString());
        }
        else
        {
            var csv = new StringBuilder("Particle ID,Area (ABD),Diameter (ABD),Diameter (ESD),Aspect Ratio,Circularity,Intensity,Transparency,"
                + "Capture X,Capture Y,Calibration Factor,Image File,Image X,Image Y,Image Width,Image Height\r\n");
            foreach (string[] row in rows) csv.Append(string.Join(',', row)).Append("\r\n");
            fixture.Files[FlowCamCsv] = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(csv.ToString())]; // Excel writes a BOM
        }
        return fixture;
    }

    /// <summary>Five particles, PNG and TIFF, in images/ with Windows separators in the list; a quoted note with a comma and quotes.</summary>
    public static ExportFixture Mfi()
    {
        var fixture = new ExportFixture();
        var csv = new StringBuilder("Particle #,ECD (µm),Circularity,Aspect Ratio,Intensity Mean,Notes,Image File\n");
        for (int i = 0; i < 5; i++)
        {
            string id = (1001 + i).ToString(CultureInfo.InvariantCulture);
            string file = $"images/p{id}.{(i % 2 == 0 ? "png" : "tif")}";
            using SyntheticParticle particle = SyntheticParticles.Draw(Types[i % 4], 20 + 2 * i, 1.07, seed: 200 + i);
            fixture.Files[file] = Encode(particle.Image, i % 2 == 0 ? new PngEncoder() : new TiffEncoder());
            double ecd = Math.Round(particle.EcdMicrometres, 2);
            fixture.Particles.Add(new WrittenParticle(id, ecd, null, null, particle.Image.Width, particle.Image.Height, Pixels(particle.Image),
                AspectRatio: 0.8, Circularity: 0.7 + i / 100.0));
            csv.Append($"{id},{Number(ecd)},{Number(0.7 + i / 100.0)},0.8,{Number(140.25 + i)},\"seen, \"\"twice\"\"\",{file.Replace('/', '\\')}\n");
        }
        fixture.Add(MfiCsv, csv.ToString());
        return fixture;
    }

    /// <summary>
    /// glass/ (PNG, TIFF), protein/ (BMP, an upper-case .PNG), a loose image at the top, particles.csv sizing some of
    /// them, and files that are not particles: notes.txt, run.json, a hidden image, an image two folders down.
    /// Lossless formats only, so that the pixels can be compared exactly.
    /// </summary>
    public static ExportFixture ImageFolder()
    {
        var fixture = new ExportFixture();
        (string File, string? Label, IImageEncoder Encoder, double? Ecd)[] images =
        [
            ("loose_001.png", null, new PngEncoder(), null),
            ("glass/glass_00001.png", "glass", new PngEncoder(), 12.5),
            ("glass/glass_00002.tif", "glass", new TiffEncoder(), 30.25),
            ("protein/protein_00001.bmp", "protein", new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 }, null),
            ("protein/protein_00002.PNG", "protein", new PngEncoder(), 8),
        ];
        var csv = new StringBuilder("# measured by hand\nfile,ecd_um,um_per_pixel,circularity\n");
        for (int i = 0; i < images.Length; i++)
        {
            var (file, label, encoder, ecd) = images[i];
            using SyntheticParticle particle = SyntheticParticles.Draw(Types[i % 4], 24, 1.0, seed: 300 + i);
            fixture.Files[file] = Encode(particle.Image, encoder);
            string id = Path.ChangeExtension(file, null).Replace('/', ':');
            bool listed = ecd is not null;
            fixture.Particles.Add(new WrittenParticle(id, ecd, listed ? 1.0 : null, label, 24, 24, Pixels(particle.Image),
                Circularity: listed ? 0.75 : null));
            if (listed) csv.Append($"{file},{Number(ecd!.Value)},1.0,0.75\n");
        }
        fixture.Add("particles.csv", csv.ToString());
        fixture.Add("notes.txt", "looked at under the microscope");
        fixture.Add("run.json", "{\"lot\": \"LOT-A\"}");
        fixture.Files["glass/.hidden.png"] = [1, 2, 3];
        fixture.Files["glass/deeper/too_deep.png"] = [1, 2, 3];
        return fixture;
    }

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static byte[] Encode(Image image, IImageEncoder encoder)
    {
        using var memory = new MemoryStream();
        image.Save(memory, encoder);
        return memory.ToArray();
    }

    public static byte[] Pixels(Image<L8> image)
    {
        var pixels = new byte[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    /// <summary>The image's pixels as grey levels; fails when a pixel is not grey.</summary>
    public static byte[] GreyPixels(byte[] encoded)
    {
        using Image<Rgb24> image = Image.Load<Rgb24>(encoded);
        var pixels = new Rgb24[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        Assert.All(pixels, p => Assert.True(p.R == p.G && p.G == p.B));
        return [.. pixels.Select(p => p.R)];
    }

    /// <summary>Pastes <paramref name="particle"/> into <paramref name="canvas"/> at <paramref name="at"/>.</summary>
    private static void Paste(Image<L8> particle, Image<L8> canvas, Point at)
    {
        for (int y = 0; y < particle.Height; y++)
        for (int x = 0; x < particle.Width; x++)
        {
            canvas[at.X + x, at.Y + y] = particle[x, y];
        }
    }
}
