using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.PixelFormats;
using static ParticleGrid.Ingest.Tests.ReaderTests;

namespace ParticleGrid.Ingest.Tests;

/// <summary>Each kind of bad input is one rejection with its reason, and the rest of the run is still read.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TemporaryFolder _run = new();
    private readonly TemporaryFolder _elsewhere = new();

    public void Dispose()
    {
        _run.Dispose();
        _elsewhere.Dispose();
    }

    [Fact]
    public void Image_folder_rejects_each_bad_file_and_row_with_its_reason()
    {
        ExportFixture fixture = ExportFixtures.ImageFolder();
        byte[] good = fixture.Files["glass/glass_00001.png"];
        fixture.Files["glass/empty.png"] = [];
        fixture.Files["glass/notes.png"] = Encoding.UTF8.GetBytes("particle 17 looked like glass");
        fixture.Files["glass/cut.png"] = good[..(good.Length / 2)];
        fixture.Files["glass/huge.bmp"] = BmpHeaderClaiming(9000, 10);
        fixture.Files["glass/lab.tif"] = TiffWithCompression(50000);
        fixture.Files["glass/glass_00001.tiff"] = fixture.Files["glass/glass_00002.tif"]; // the id glass:glass_00001 again
        fixture.Files["glass/has space.png"] = good;
        fixture.Files["protein/sized.png"] = good;
        fixture.Files["protein/unsized.png"] = good;
        File.WriteAllBytes(_elsewhere.File("secret.png"), good);
        fixture.Add("particles.csv", fixture.Text("particles.csv")
            + "protein/sized.png,-3,1.0,0.5\n"
            + "protein/unsized.png,abc,1.0,0.5\n"
            + "glass/nowhere.png,10,1.0,0.5\n"
            + "../outside.png,10,1.0,0.5\n"
            + "/etc/hostname,10,1.0,0.5\n"
            + "too,many,fields,in,this,row\n");
        fixture.WriteTo(_run.Path);
        File.CreateSymbolicLink(_run.File("glass/link.png"), _elsewhere.File("secret.png"));

        List<ExportEntry> entries = ReadAll(ExportReaders.ImageFolder, _run.Path);

        AssertRejected(entries,
            ("glass/empty.png", RejectionReason.EmptyFile),
            ("glass/notes.png", RejectionReason.NotAnImage),
            ("glass/cut.png", RejectionReason.CorruptImage),
            ("glass/huge.bmp", RejectionReason.ImageTooLarge),
            ("glass/lab.tif", RejectionReason.UnsupportedPixelFormat),
            ("glass/glass_00001.tiff", RejectionReason.DuplicateId),
            ("glass/has space.png", RejectionReason.BadRow),
            ("glass/link.png", RejectionReason.OutsideRunFolder),
            ("protein/sized.png (particles.csv row 6)", RejectionReason.BadSize),
            ("protein/unsized.png (particles.csv row 7)", RejectionReason.BadRow),
            ("particles.csv row 8", RejectionReason.MissingImage),
            ("particles.csv row 9", RejectionReason.OutsideRunFolder),
            ("particles.csv row 10", RejectionReason.OutsideRunFolder),
            ("particles.csv row 11", RejectionReason.BadRow));
        Assert.Equal(fixture.Particles.Select(p => p.Id), Particles(entries).Select(p => p.ParticleId));
    }

    [Fact]
    public void Symbolic_links_may_lead_within_the_run_folder_but_not_out_of_it()
    {
        ExportFixture fixture = ExportFixtures.ImageFolder();
        fixture.Files.Remove("particles.csv");
        fixture.WriteTo(_run.Path);
        File.WriteAllBytes(_elsewhere.File("outside.png"), fixture.Files["loose_001.png"]);
        File.CreateSymbolicLink(_run.File("alias.png"), "glass/glass_00001.png");            // within: a particle
        File.CreateSymbolicLink(_run.File("loop.png"), "loop.png");                          // a loop: nothing to read
        File.CreateSymbolicLink(_run.File("glass/up.png"), "../../" + Path.GetFileName(_elsewhere.Path) + "/outside.png");
        Directory.CreateSymbolicLink(_run.File("bubble"), _elsewhere.Path);                 // a class folder that is elsewhere

        List<ExportEntry> entries = ReadAll(ExportReaders.ImageFolder, _run.Path);

        AssertRejected(entries,
            ("loop.png", RejectionReason.MissingImage),
            ("glass/up.png", RejectionReason.OutsideRunFolder),
            ("bubble/outside.png", RejectionReason.OutsideRunFolder));
        Assert.Contains(Particles(entries), p => p.ParticleId == "alias" && p.Image.SequenceEqual(fixture.Files["glass/glass_00001.png"]));
    }

    [Fact]
    public void Image_folder_keeps_a_missing_size_as_unknown()
    {
        ExportFixture fixture = ExportFixtures.ImageFolder();
        fixture.Add("particles.csv", "file,ecd_um\nloose_001.png,\n");
        fixture.WriteTo(_run.Path);

        ExportParticle loose = Particles(ReadAll(ExportReaders.ImageFolder, _run.Path))[0];

        Assert.Equal(("loose_001", null), (loose.ParticleId, loose.EcdMicrometres));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FlowCam_rejects_each_bad_row_with_its_reason(bool asLst)
    {
        ExportFixture fixture = ExportFixtures.FlowCam(asLst);
        fixture.Files["broken.tif"] = fixture.Files["collage_00001.tif"][..200];
        File.WriteAllBytes(_elsewhere.File("secret.tif"), fixture.Files["collage_00001.tif"]);
        // id, ESD, collage, box: the other columns as in a good row
        (string Id, string Esd, string Collage, string Box)[] bad =
        [
            ("7", "", "collage_00001.tif", "3,5,24,24"),
            ("8", "NaN", "collage_00001.tif", "3,5,24,24"),
            ("9", "-1", "collage_00001.tif", "3,5,24,24"),
            ("10", "Infinity", "collage_00001.tif", "3,5,24,24"),
            ("11", "abc", "collage_00001.tif", "3,5,24,24"),
            ("a/b", "10", "collage_00001.tif", "3,5,24,24"),
            ("1", "10", "collage_00001.tif", "3,5,24,24"),
            ("12", "10", "collage_00001.tif", "150,90,24,24"),
            ("13", "10", "collage_00001.tif", "3,5,0,24"),
            ("14", "10", "collage_00001.tif", "3,5,2.5,24"),
            ("15", "10", "nowhere.tif", "3,5,24,24"),
            ("16", "10", "../secret.tif", "3,5,24,24"),
            ("17", "10", "link.tif", "3,5,24,24"),
            ("18", "10", "broken.tif", "3,5,24,24"),
            ("19", "10", "broken.tif", "30,5,24,24"),
        ];
        string list = asLst ? ExportFixtures.FlowCamLst : ExportFixtures.FlowCamCsv;
        char separator = asLst ? '|' : ',';
        var text = new StringBuilder(Encoding.UTF8.GetString(fixture.Files[list]).TrimStart('\uFEFF'));
        foreach (var row in bad)
        {
            string[] box = row.Box.Split(',');
            text.Append(string.Join(separator, [row.Id, "100", "12", row.Esd, "0.5", "0.8", "120", "0.4", "1", "1", "0.7", row.Collage, .. box])).Append("\r\n");
        }
        text.Append(string.Join(separator, "20", "100", "12")).Append("\r\n");
        fixture.Add(list, text.ToString());
        fixture.WriteTo(_run.Path);
        File.CreateSymbolicLink(_run.File("link.tif"), _elsewhere.File("secret.tif"));

        List<ExportEntry> entries = ReadAll(ExportReaders.FlowCam, _run.Path);

        int first = asLst ? 25 : 8; // the line of the first bad row
        RejectionReason[] expected =
        [
            RejectionReason.BadSize, RejectionReason.BadSize, RejectionReason.BadSize, RejectionReason.BadSize, RejectionReason.BadRow,
            RejectionReason.BadRow, RejectionReason.DuplicateId, RejectionReason.BadBox, RejectionReason.BadBox, RejectionReason.BadRow,
            RejectionReason.MissingImage, RejectionReason.OutsideRunFolder, RejectionReason.OutsideRunFolder, RejectionReason.CorruptImage,
            RejectionReason.CorruptImage, RejectionReason.BadRow,
        ];
        List<ExportRejection> rejections = Rejections(entries);
        Assert.Equal(expected, rejections.Select(r => r.Reason));
        Assert.All(rejections.Zip(Enumerable.Range(first, expected.Length)), pair => Assert.Contains($"({list} row {pair.Second})", $"({pair.First.Source})"));
        Assert.All(rejections, r => Assert.StartsWith(r.Source + ": ", r.Message));
        Assert.Equal(["1", "2", "3", "4", "5", "6"], Particles(entries).Select(p => p.ParticleId));
    }

    [Fact]
    public void Mfi_rejects_missing_outside_unsized_and_broken_images()
    {
        ExportFixture fixture = ExportFixtures.Mfi();
        fixture.Files["images/broken.png"] = fixture.Files["images/p1001.png"][..30];
        fixture.Add(ExportFixtures.MfiCsv, fixture.Text(ExportFixtures.MfiCsv)
            + "2001,5,0.7,0.8,140,,images/nowhere.png\n"
            + "2002,5,0.7,0.8,140,,C:\\MFI\\images\\p1.png\n"
            + "2003,,0.7,0.8,140,,images/p1001.png\n"
            + "2004,5,0.7,0.8,140,,images/broken.png\n"
            + "1001,5,0.7,0.8,140,,images/p1002.tif\n"
            + "2005,5,round,0.8,140,,images/p1002.tif\n");
        fixture.WriteTo(_run.Path);

        List<ExportEntry> entries = ReadAll(ExportReaders.Mfi, _run.Path);

        Assert.Equal(
            [RejectionReason.MissingImage, RejectionReason.OutsideRunFolder, RejectionReason.BadSize, RejectionReason.CorruptImage,
             RejectionReason.DuplicateId, RejectionReason.BadRow],
            Rejections(entries).Select(r => r.Reason));
        Assert.Equal("images/broken.png (mfi_export.csv row 10)", Rejections(entries)[3].Source);
        Assert.Equal(5, Particles(entries).Count);
    }

    [Fact]
    public void A_folder_or_list_that_cannot_be_read_at_all_is_an_export_exception()
    {
        string missing = _run.File("no-such-run");
        Assert.Equal(missing, Assert.Throws<ExportException>(() => ExportReaders.Detect(missing)).Path);
        Assert.Throws<ExportException>(() => ExportReaders.ImageFolder.Read(missing).ToList());

        File.WriteAllText(_run.File("file.txt"), "x");
        Assert.Throws<ExportException>(() => ExportReaders.Detect(_run.File("file.txt")));

        // No list where the format needs one.
        Assert.Contains("no FlowCAM particle list", Assert.Throws<ExportException>(() => ExportReaders.FlowCam.Read(_run.Path).ToList()).Reason);
        Assert.Contains("no MFI particle list", Assert.Throws<ExportException>(() => ExportReaders.Mfi.Read(_run.Path).ToList()).Reason);

        // A .lst whose header is not one.
        File.WriteAllText(_run.File("run.lst"), "016\nfields|3\n");
        Assert.Contains("num-fields", Assert.Throws<ExportException>(() => ExportReaders.FlowCam.Read(_run.Path).ToList()).Message);

        // A list without a column the format needs.
        File.WriteAllText(_run.File("run.lst"), "016\nnum-fields|5\nid|1\nimage_x|1\nimage_y|1\nimage_w|1\nimage_h|1\n1|0|0|5|5\n");
        ExportException noColumns = Assert.Throws<ExportException>(() => ExportReaders.FlowCam.Read(_run.Path).ToList());
        Assert.Equal(Path.Join(_run.Path, "run.lst"), noColumns.Path);
        Assert.Contains("Image File", noColumns.Reason);
        Assert.Contains("Diameter (ESD)", noColumns.Reason);
    }

    [Fact]
    public void A_cancelled_read_stops_with_operation_cancelled()
    {
        ExportFixtures.Mfi().WriteTo(_run.Path);
        using var cancellation = new CancellationTokenSource();
        using IEnumerator<ExportEntry> entries = ExportReaders.Mfi.Read(_run.Path, cancellation.Token).GetEnumerator();
        Assert.True(entries.MoveNext());

        cancellation.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => entries.MoveNext());
    }

    [Fact]
    public void Export_images_checks_bytes_as_the_readers_do()
    {
        using var picture = new Image<L8>(12, 10, new L8(90));
        Assert.Null(ExportImages.Check(ExportFixtures.Encode(picture, new PngEncoder()), "upload 1"));

        ExportRejection refused = ExportImages.Check(Encoding.UTF8.GetBytes("hello"), "upload 2")!;
        Assert.Equal(RejectionReason.NotAnImage, refused.Reason);
        Assert.Equal("upload 2: not a supported image (PNG, TIFF, BMP, JPEG, GIF)", refused.Message);
    }

    private static void AssertRejected(List<ExportEntry> entries, params (string Source, RejectionReason Reason)[] expected)
    {
        List<ExportRejection> rejections = Rejections(entries);
        Assert.Equal(expected.Select(e => e.Source).Order(StringComparer.Ordinal), rejections.Select(r => r.Source).Order(StringComparer.Ordinal));
        foreach (var (source, reason) in expected)
        {
            ExportRejection rejection = rejections.Single(r => r.Source == source);
            Assert.True(rejection.Reason == reason, $"{source}: expected {reason}, got {rejection.Reason} ({rejection.Message})");
            Assert.StartsWith(source + ": ", rejection.Message);
            Assert.DoesNotContain('\n', rejection.Message);
        }
    }

    /// <summary>A BMP header (no pixels) claiming width x height 24-bit pixels.</summary>
    internal static byte[] BmpHeaderClaiming(int width, int height)
    {
        var bmp = new byte[54];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        return bmp;
    }

    /// <summary>A valid 10 x 10 grey TIFF whose Compression tag (259) then says <paramref name="compression"/>.</summary>
    internal static byte[] TiffWithCompression(ushort compression)
    {
        using var image = new Image<L8>(10, 10, new L8(100));
        byte[] tiff = ExportFixtures.Encode(image, new TiffEncoder());
        int directory = (int)BinaryPrimitives.ReadUInt32LittleEndian(tiff.AsSpan(4));
        int tags = BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(directory));
        for (int i = 0; i < tags; i++)
        {
            int entry = directory + 2 + 12 * i;
            if (BinaryPrimitives.ReadUInt16LittleEndian(tiff.AsSpan(entry)) == 259) BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(entry + 8), compression);
        }
        return tiff;
    }
}
