namespace ParticleGrid.Ingest;

/// <summary>
/// Reads a folder of single-particle images (PNG, TIFF, BMP, JPEG), at its top and/or in class sub-folders one level
/// down; a sub-folder's name is its images' class label. An optional particles.csv at the top attaches measurements
/// to files: a file column ("file" / "image" / "filename", relative to the run folder) and any of "particle_id",
/// "ecd_um" (or "esd_um", "ecd", "diameter_um"), "um_per_pixel", "aspect_ratio", "circularity", "mean_intensity".
/// Other files are left alone.
/// </summary>
/// <remarks>
/// Order: the top level's images, then each sub-folder's, names in ordinal order; then the rows of particles.csv
/// that name no image found. A particle's id is its path without the extension, with ':' for '/'
/// ("glass/glass_00001.png" is "glass:glass_00001"), unless particles.csv gives a particle_id.
/// </remarks>
internal sealed class ImageFolderReader : ExportReader
{
    private static readonly string[] ImageExtensions = [".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg"];

    public override string Format => "image-folder";

    protected override IEnumerable<ExportEntry> Entries(RunFolder run, HashSet<string> claimed)
    {
        IReadOnlyList<string> topFiles = run.List("", folders: false);
        var listed = new ListedImages();
        foreach (ExportEntry problem in listed.Read(run, topFiles)) yield return problem;

        foreach (string name in topFiles.Where(IsImage)) yield return ReadImage(run, name, classLabel: null, listed.Take(name), claimed);
        foreach (string classFolder in run.List("", folders: true))
        {
            IReadOnlyList<string> names;
            ExportEntry? unlisted = null;
            try
            {
                names = run.List(classFolder, folders: false);
            }
            catch (ExportException e)
            {
                names = [];
                unlisted = Rejections.Entry(classFolder + "/", RejectionReason.MissingImage, e.Reason);
            }
            if (unlisted is { } refused) yield return refused;
            foreach (string relative in names.Where(IsImage).Select(name => $"{classFolder}/{name}"))
            {
                yield return ReadImage(run, relative, classFolder, listed.Take(relative), claimed);
            }
        }

        foreach (ListRow row in listed.NotTaken())
        {
            yield return Rejections.Entry(row.Source, RejectionReason.MissingImage,
                $"'{row.Text(ListColumn.ImageFile)}' is not an image at the top of the run folder or in a class sub-folder");
        }
    }

    private static bool IsImage(string name) => ImageExtensions.Any(extension => name.EndsWith(extension, StringComparison.OrdinalIgnoreCase));

    private static ExportEntry ReadImage(RunFolder run, string relative, string? classLabel, ListRow? row, HashSet<string> claimed)
    {
        string source = row is null ? relative : $"{relative} ({row.Source})";
        Located located = run.Locate(relative);
        if (located.Problem is { } problem) return Rejections.Entry(source, located.Reason, problem);

        string id = row?.Text(ListColumn.ParticleId) ?? Path.ChangeExtension(relative, null).Replace('/', ':');
        if (RowChecks.ClaimId(id, source, claimed) is { } refused) return refused;
        RowMeasurements measurements = RowMeasurements.None;
        if (row is not null && RowChecks.Measurements(row, source, sizeRequired: false, out measurements) is { } bad) return bad;
        if (ExportImages.ReadFile(located.FullPath!, source, out byte[] image) is { } unusable) return unusable;

        return measurements.Particle(id, image, source, classLabel);
    }

    /// <summary>The rows of particles.csv by the file each names; each row is taken by at most one image.</summary>
    private sealed class ListedImages
    {
        private readonly Dictionary<string, ListRow> _byFile = new(StringComparer.Ordinal);
        private readonly List<(string File, ListRow Row)> _inOrder = [];
        private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

        /// <summary>Reads particles.csv when there is one; yields the rows that cannot belong to any image.</summary>
        public IEnumerable<ExportEntry> Read(RunFolder run, IReadOnlyList<string> topFiles)
        {
            string? name = topFiles.FirstOrDefault(file => file.Equals(ParticleLists.ImageFolderList, StringComparison.OrdinalIgnoreCase));
            if (name is null) yield break;
            using ParticleList list = ParticleList.Open(run, name);
            list.Require([ListColumn.ImageFile], size: false);
            foreach (ListRow row in list.Rows())
            {
                if (RowChecks.Shape(row) is { } misshapen)
                {
                    yield return misshapen;
                    continue;
                }
                if (RunFolder.Normalize(row.Text(ListColumn.ImageFile) ?? "", out Located refused) is not { } file)
                {
                    yield return Rejections.Entry(row.Source, refused.Reason, refused.Problem!);
                    continue;
                }
                if (_byFile.TryGetValue(file, out ListRow? first))
                {
                    yield return Rejections.Entry(row.Source, RejectionReason.BadRow, $"'{file}' is listed again (first in {first.Source})");
                    continue;
                }
                _byFile.Add(file, row);
                _inOrder.Add((file, row));
            }
        }

        /// <summary>The row for the image at <paramref name="relative"/>, if any.</summary>
        public ListRow? Take(string relative)
        {
            if (!_byFile.TryGetValue(relative, out ListRow? row)) return null;
            _taken.Add(relative);
            return row;
        }

        public IEnumerable<ListRow> NotTaken() => _inOrder.Where(entry => !_taken.Contains(entry.File)).Select(entry => entry.Row);
    }
}
