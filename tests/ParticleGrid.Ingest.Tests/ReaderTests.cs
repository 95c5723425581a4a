using System.Text;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Ingest.Tests;

/// <summary>Each format read from a good export: ids, sizes, calibration, labels, images, order.</summary>
public sealed class ReaderTests : IDisposable
{
    private readonly TemporaryFolder _run = new();

    public void Dispose() => _run.Dispose();

    internal static List<ExportEntry> ReadAll(IExportReader reader, string folder)
    {
        List<ExportEntry> entries = [.. reader.Read(folder)];
        Assert.All(entries, entry => Assert.True(entry.Particle is null != (entry.Rejection is null), "exactly one of particle and rejection"));
        return entries;
    }

    internal static List<ExportParticle> Particles(IEnumerable<ExportEntry> entries) => [.. entries.Where(e => e.Particle is not null).Select(e => e.Particle!)];

    internal static List<ExportRejection> Rejections(IEnumerable<ExportEntry> entries) => [.. entries.Where(e => e.Rejection is not null).Select(e => e.Rejection!)];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FlowCam_reads_ids_sizes_calibration_and_morphology_from_the_list(bool asLst)
    {
        ExportFixture fixture = ExportFixtures.FlowCam(asLst);
        fixture.WriteTo(_run.Path);

        IExportReader reader = ExportReaders.Detect(_run.Path);
        List<ExportEntry> entries = ReadAll(reader, _run.Path);

        Assert.Same(ExportReaders.FlowCam, reader);
        Assert.Equal("flowcam", reader.Format);
        Assert.Empty(Rejections(entries));
        List<ExportParticle> particles = Particles(entries);
        Assert.Equal(fixture.Particles.Select(p => p.Id), particles.Select(p => p.ParticleId));
        foreach ((WrittenParticle written, ExportParticle read) in fixture.Particles.Zip(particles))
        {
            Assert.Equal(written.Ecd, read.EcdMicrometres);  // the ESD, not the larger ABD
            Assert.Equal(ExportFixtures.FlowCamCalibration, read.MicrometresPerPixel);
            Assert.Equal(written.AspectRatio, read.Shape!.AspectRatio);
            Assert.Equal(written.Circularity, read.Shape.Circularity);
            Assert.NotNull(read.Shape.AreaSquareMicrometres);
            Assert.NotNull(read.Shape.MeanIntensity);
            Assert.Null(read.ClassLabel);
        }
        int firstRow = asLst ? 19 : 2; // the .lst: version, num-fields and 16 field lines come first
        Rectangle box = fixture.Particles[0].Box!.Value;
        Assert.Equal($"collage_00001.tif#{box.X},{box.Y},{box.Width},{box.Height} ({(asLst ? ExportFixtures.FlowCamLst : ExportFixtures.FlowCamCsv)} row {firstRow})",
            particles[0].Source);
        Assert.DoesNotContain(entries, e => e.Particle?.Source.Contains("cal_image") == true);
    }

    [Fact]
    public void FlowCam_cut_outs_hold_exactly_the_pixels_of_their_box()
    {
        ExportFixture fixture = ExportFixtures.FlowCam(asLst: true);
        fixture.WriteTo(_run.Path);

        List<ExportParticle> particles = Particles(ReadAll(ExportReaders.FlowCam, _run.Path));

        Assert.Equal(fixture.Particles.Count, particles.Count);
        foreach ((WrittenParticle written, ExportParticle read) in fixture.Particles.Zip(particles))
        {
            Assert.Equal(PngSignature, read.Image[..8]);
            using var image = Image.Load<Rgb24>(read.Image);
            Assert.Equal((written.Width, written.Height), (image.Width, image.Height));
            Assert.Equal(written.Grey, ExportFixtures.GreyPixels(read.Image));
        }
    }

    [Fact]
    public void FlowCam_cuts_colour_out_of_a_colour_collage()
    {
        using var collage = new Image<Rgb24>(20, 10, new Rgb24(200, 200, 200));
        collage[5, 3] = new Rgb24(10, 20, 30);
        File.WriteAllBytes(_run.File("c.tif"), ExportFixtures.Encode(collage, new TiffEncoder()));
        File.WriteAllText(_run.File("list.csv"), "Particle ID,Diameter (ESD),Image File,Image X,Image Y,Image Width,Image Height\n1,5,c.tif,4,2,3,3\n");

        ExportParticle particle = Assert.Single(Particles(ReadAll(ExportReaders.Detect(_run.Path), _run.Path)));

        using var cut = Image.Load<Rgb24>(particle.Image);
        Assert.Equal((3, 3), (cut.Width, cut.Height));
        Assert.Equal(new Rgb24(10, 20, 30), cut[1, 1]);
        Assert.Equal(new Rgb24(200, 200, 200), cut[0, 0]);
    }

    [Fact]
    public void FlowCam_takes_the_abd_diameter_when_the_list_has_no_esd()
    {
        ExportFixture fixture = ExportFixtures.FlowCam(asLst: false);
        fixture.Add(ExportFixtures.FlowCamCsv, fixture.Text(ExportFixtures.FlowCamCsv).Replace("Diameter (ESD)", "Diameter (FD)"));
        fixture.WriteTo(_run.Path);

        List<ExportParticle> particles = Particles(ReadAll(ExportReaders.FlowCam, _run.Path));

        Assert.Equal(fixture.Particles.Select(p => Math.Round(p.Ecd!.Value * 1.1, 3)), particles.Select(p => p.EcdMicrometres!.Value));
    }

    [Fact]
    public void Mfi_reads_each_particles_own_image_file_and_its_measurements()
    {
        ExportFixture fixture = ExportFixtures.Mfi();
        fixture.WriteTo(_run.Path);

        IExportReader reader = ExportReaders.Detect(_run.Path);
        List<ExportEntry> entries = ReadAll(reader, _run.Path);

        Assert.Same(ExportReaders.Mfi, reader);
        Assert.Equal("mfi", reader.Format);
        Assert.Empty(Rejections(entries));
        List<ExportParticle> particles = Particles(entries);
        Assert.Equal(["1001", "1002", "1003", "1004", "1005"], particles.Select(p => p.ParticleId));
        foreach ((WrittenParticle written, ExportParticle read) in fixture.Particles.Zip(particles))
        {
            Assert.Equal(written.Ecd, read.EcdMicrometres);
            Assert.Null(read.MicrometresPerPixel);
            Assert.Equal(new ParticleShape(null, 0.8, written.Circularity, read.Shape!.MeanIntensity), read.Shape);
            Assert.NotNull(read.Shape.MeanIntensity);
            Assert.Equal(written.Grey, ExportFixtures.GreyPixels(read.Image));
        }
        Assert.Equal(fixture.Files["images/p1001.png"], particles[0].Image); // the file's own bytes
        Assert.Equal("images/p1001.png (mfi_export.csv row 2)", particles[0].Source);
    }

    [Theory]
    [InlineData(';')]
    [InlineData('\t')]
    public void Mfi_reads_a_csv_separated_by_semicolons_or_tabs(char delimiter)
    {
        ExportFixture fixture = ExportFixtures.Mfi();
        string csv = fixture.Text(ExportFixtures.MfiCsv).Replace("\"seen, \"\"twice\"\"\"", "seen").Replace(',', delimiter);
        fixture.Add(ExportFixtures.MfiCsv, csv);
        fixture.WriteTo(_run.Path);

        List<ExportParticle> particles = Particles(ReadAll(ExportReaders.Detect(_run.Path), _run.Path));

        Assert.Equal(fixture.Particles.Select(p => (p.Id, p.Ecd)), particles.Select(p => (p.ParticleId, p.EcdMicrometres)));
    }

    [Fact]
    public void Image_folder_reads_class_sub_folders_loose_images_and_particles_csv()
    {
        ExportFixture fixture = ExportFixtures.ImageFolder();
        fixture.WriteTo(_run.Path);

        IExportReader reader = ExportReaders.Detect(_run.Path);
        List<ExportEntry> entries = ReadAll(reader, _run.Path);

        Assert.Same(ExportReaders.ImageFolder, reader); // particles.csv has a file and an ECD column, but it is no MFI list
        Assert.Equal("image-folder", reader.Format);
        Assert.Empty(Rejections(entries)); // notes.txt, run.json, the hidden image and the one two folders down are left alone
        List<ExportParticle> particles = Particles(entries);
        Assert.Equal(["loose_001", "glass:glass_00001", "glass:glass_00002", "protein:protein_00001", "protein:protein_00002"],
            particles.Select(p => p.ParticleId));
        foreach ((WrittenParticle written, ExportParticle read) in fixture.Particles.Zip(particles))
        {
            Assert.Equal(written.ClassLabel, read.ClassLabel);
            Assert.Equal(written.Ecd, read.EcdMicrometres);
            Assert.Equal(written.MicrometresPerPixel, read.MicrometresPerPixel);
            Assert.Equal(written.Circularity, read.Shape?.Circularity);
            Assert.Equal(written.Grey, ExportFixtures.GreyPixels(read.Image));
        }
        Assert.Equal(fixture.Files["glass/glass_00002.tif"], particles[2].Image);
        Assert.Equal("glass/glass_00001.png (particles.csv row 3)", particles[1].Source);
        Assert.Equal("loose_001.png", particles[0].Source);
        Assert.Null(particles[0].Shape);
    }

    [Fact]
    public void Image_folder_takes_particle_ids_from_particles_csv_when_it_has_them()
    {
        ExportFixture fixture = ExportFixtures.ImageFolder();
        fixture.Add("particles.csv", "filename,particle_id,diameter_um\nglass\\glass_00002.tif,G-2,\nloose_001.png,L1,3.5\n");
        fixture.WriteTo(_run.Path);

        List<ExportParticle> particles = Particles(ReadAll(ExportReaders.ImageFolder, _run.Path));

        Assert.Equal(["L1", "glass:glass_00001", "G-2", "protein:protein_00001", "protein:protein_00002"], particles.Select(p => p.ParticleId));
        Assert.Equal([3.5, null, null, null, null], particles.Select(p => p.EcdMicrometres));
    }

    [Fact]
    public void A_synthetic_data_set_is_an_image_folder_labelled_by_its_class_folders()
    {
        SyntheticParticles.WriteDataset(_run.Path, perClass: 2, seed: 5, imageSize: 16);

        IExportReader reader = ExportReaders.Detect(_run.Path); // synthetic.csv has file and ECD columns but no particle id
        List<ExportEntry> entries = ReadAll(reader, _run.Path);

        Assert.Same(ExportReaders.ImageFolder, reader);
        Assert.Equal(["bubble:bubble_00001", "bubble:bubble_00002", "glass:glass_00001", "glass:glass_00002",
            "protein:protein_00001", "protein:protein_00002", "silicone_oil:silicone_oil_00001", "silicone_oil:silicone_oil_00002"],
            Particles(entries).Select(p => p.ParticleId));
        Assert.Equal(["bubble", "bubble", "glass", "glass", "protein", "protein", "silicone_oil", "silicone_oil"], Particles(entries).Select(p => p.ClassLabel));
    }

    [Theory]
    [InlineData("flowcam")]
    [InlineData("mfi")]
    [InlineData("image-folder")]
    public void A_second_read_gives_the_same_ids_in_the_same_order(string format)
    {
        ExportFixture fixture = format switch
        {
            "flowcam" => ExportFixtures.FlowCam(asLst: true),
            "mfi" => ExportFixtures.Mfi(),
            _ => ExportFixtures.ImageFolder(),
        };
        fixture.Files["extra/zz.png"] = Encoding.UTF8.GetBytes("not an image"); // a rejection has its place too
        fixture.WriteTo(_run.Path);
        IExportReader reader = ExportReaders.Detect(_run.Path);

        string[] first = [.. ReadAll(reader, _run.Path).Select(Describe)];
        string[] second = [.. ReadAll(reader, _run.Path).Select(Describe)];

        Assert.Equal(first, second);
        Assert.Equal(fixture.Particles.Count, first.Count(line => line.StartsWith("particle")));

        static string Describe(ExportEntry entry) => entry.Particle is { } p
            ? $"particle {p.ParticleId} {p.Source} {Convert.ToHexString(p.Image)}"
            : $"rejection {entry.Rejection!.Source} {entry.Rejection.Reason}";
    }

    [Fact]
    public void Reads_lazily_one_particle_at_a_time()
    {
        ExportFixtures.Mfi().WriteTo(_run.Path);
        using IEnumerator<ExportEntry> entries = ExportReaders.Mfi.Read(_run.Path).GetEnumerator();

        Assert.True(entries.MoveNext());
        File.Delete(_run.File("images/p1005.png")); // not read yet, so its loss shows
        List<ExportEntry> rest = [];
        while (entries.MoveNext()) rest.Add(entries.Current);

        Assert.Equal(RejectionReason.MissingImage, rest[^1].Rejection!.Reason);
    }

    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
}
