using ParticleGrid.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Ingest;

/// <summary>
/// Reads a FlowCAM VisualSpreadsheet run: its particle list (a .lst, or the .csv VisualSpreadsheet exports) and the
/// collage TIFFs the list points into. Each particle is cut out of its collage ("Image File" / collage_file, relative
/// to the run folder) by its box (Image X, Image Y, Image Width, Image Height) and encoded as PNG: 8-bit grey when the
/// collage is grey there, else RGB. Rows come in list order.
/// </summary>
/// <remarks>
/// One decoded collage is held at a time. Rows are usually grouped by collage; when they are not, a collage is opened
/// again. Only the collages the list names are opened, so the background calibration images (cal_image_*.tif)
/// beside them are never read.
/// </remarks>
internal sealed class FlowCamReader : ParticleListReader
{
    public override string Format => "flowcam";

    protected override IReadOnlyList<ListColumn> RequiredColumns { get; } =
        [ListColumn.ParticleId, ListColumn.ImageFile, ListColumn.BoxX, ListColumn.BoxY, ListColumn.BoxWidth, ListColumn.BoxHeight];

    protected override string NoList =>
        "no FlowCAM particle list: no .lst file, and no .csv with Image X, Image Y, Image Width and Image Height columns";

    protected override string? FindList(RunFolder run) => ParticleLists.FindFlowCamList(run);

    protected override RowImages OpenImages(RunFolder run) => new Collages(run);

    /// <summary>Each row's particle is a box of a collage; the collage last opened is held decoded.</summary>
    private sealed class Collages(RunFolder run) : RowImages
    {
        private readonly CollageCache _collages = new();

        public override ExportEntry Read(ListRow row, string id, RowMeasurements measurements)
        {
            if (ReadBox(row) is not { } box) return BoxNotNumbers(row);

            string collageName = row.Text(ListColumn.ImageFile) ?? "";
            Located collageFile = run.Locate(collageName);
            if (collageFile.Problem is { } problem) return Rejections.Entry(row.Source, collageFile.Reason, problem);

            string source = $"{RunFolder.Normalize(collageName, out _)}#{box.X},{box.Y},{box.Width},{box.Height} ({row.Source})";
            if (box.Width <= 0 || box.Height <= 0) return Rejections.Entry(source, RejectionReason.BadBox, "the box has no area");
            (Image<Rgb24>? collage, ParticleImageException? unusable) = _collages.Open(collageFile.FullPath!);
            if (unusable is not null) return new ExportEntry(null, ExportImages.Refused(source, unusable));
            if (box.X < 0 || box.Y < 0 || (long)box.X + box.Width > collage!.Width || (long)box.Y + box.Height > collage.Height)
            {
                return Rejections.Entry(source, RejectionReason.BadBox, $"the box is not inside the {collage!.Width} x {collage.Height} collage");
            }
            return measurements.Particle(id, CutOut(collage, box), source);
        }

        public override void Dispose() => _collages.Dispose();
    }

    /// <summary>The row's box in whole pixels, or null when a box cell is empty or not a whole number.</summary>
    private static Rectangle? ReadBox(ListRow row) =>
        row.TryInteger(ListColumn.BoxX, out int? x) && row.TryInteger(ListColumn.BoxY, out int? y)
        && row.TryInteger(ListColumn.BoxWidth, out int? width) && row.TryInteger(ListColumn.BoxHeight, out int? height)
        && x is not null && y is not null && width is not null && height is not null
            ? new Rectangle(x.Value, y.Value, width.Value, height.Value)
            : null;

    private static ExportEntry BoxNotNumbers(ListRow row)
    {
        ListColumn[] box = [ListColumn.BoxX, ListColumn.BoxY, ListColumn.BoxWidth, ListColumn.BoxHeight];
        string cells = string.Join(", ", box.Select(column => $"{row.NameOf(column)} '{RowChecks.Shorten(row.Text(column) ?? "")}'"));
        return Rejections.Entry(row.Source, RejectionReason.BadRow, $"the box is not four whole numbers: {cells}");
    }

    /// <summary>The box's pixels as PNG: 8-bit grey when every pixel is grey, else 8-bit RGB. The pixels are copied exactly.</summary>
    internal static byte[] CutOut(Image<Rgb24> collage, Rectangle box)
    {
        var pixels = new Rgb24[box.Width * box.Height];
        collage.ProcessPixelRows(rows =>
        {
            for (int row = 0; row < box.Height; row++)
            {
                rows.GetRowSpan(box.Y + row).Slice(box.X, box.Width).CopyTo(pixels.AsSpan(row * box.Width, box.Width));
            }
        });

        using var png = new MemoryStream();
        if (pixels.All(p => p.R == p.G && p.G == p.B))
        {
            using var grey = Image.LoadPixelData<L8>([.. pixels.Select(p => new L8(p.R))], box.Width, box.Height);
            grey.SaveAsPng(png, new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit8 });
        }
        else
        {
            using var colour = Image.LoadPixelData<Rgb24>(pixels, box.Width, box.Height);
            colour.SaveAsPng(png, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 });
        }
        return png.ToArray();
    }

    /// <summary>The one collage held decoded: the last one opened, or why it could not be.</summary>
    private sealed class CollageCache : IDisposable
    {
        private string? _path;
        private Image<Rgb24>? _collage;
        private ParticleImageException? _unusable;

        /// <summary>The collage at <paramref name="fullPath"/>, decoded through <see cref="ParticleImageDecoder"/> (header checked first).</summary>
        public (Image<Rgb24>? Collage, ParticleImageException? Unusable) Open(string fullPath)
        {
            if (fullPath != _path)
            {
                Dispose();
                _path = fullPath;
                try
                {
                    _collage = ParticleImageDecoder.Load(fullPath);
                }
                catch (ParticleImageException e)
                {
                    _unusable = e;
                }
            }
            return (_collage, _unusable);
        }

        public void Dispose()
        {
            _collage?.Dispose();
            (_path, _collage, _unusable) = (null, null, null);
        }
    }
}
