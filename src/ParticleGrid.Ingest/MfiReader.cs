namespace ParticleGrid.Ingest;

/// <summary>
/// Reads an MFI (Micro-Flow Imaging) run: a CSV with one row per particle, a particle id ("Particle ID" / "ID" /
/// "Particle #"), its ECD ("ECD (µm)" / "ECD (um)" / "ECD"), optionally "Circularity", "Aspect Ratio" and "Intensity
/// Mean", and its own image file ("Image File" / "Filename" / "Image", relative to the run folder). Rows come in
/// list order.
/// </summary>
internal sealed class MfiReader : IExportReader
{
    private static readonly ListColumn[] RequiredColumns = [ListColumn.ParticleId, ListColumn.ImageFile];

    public string Format => "mfi";

    public IEnumerable<ExportEntry> Read(string runFolder, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(runFolder);
        return ReadRun(runFolder, cancellation);
    }

    private static IEnumerable<ExportEntry> ReadRun(string runFolder, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var run = RunFolder.Open(runFolder);
        string listName = ParticleLists.FindMfiList(run) ?? throw new ExportException(runFolder,
            "no MFI particle list: no .csv with Particle ID, ECD and Image File columns");
        using ParticleList list = ParticleList.Open(run, listName);
        list.Require(RequiredColumns, size: true);

        var claimed = new HashSet<string>(StringComparer.Ordinal);
        foreach (ListRow row in list.Rows())
        {
            cancellation.ThrowIfCancellationRequested();
            yield return ReadRow(run, row, claimed);
        }
    }

    private static ExportEntry ReadRow(RunFolder run, ListRow row, HashSet<string> claimed)
    {
        if (RowChecks.Shape(row) is { } misshapen) return misshapen;
        string id = row.Text(ListColumn.ParticleId) ?? "";
        if (RowChecks.ClaimId(id, row.Source, claimed) is { } refused) return refused;
        if (RowChecks.Measurements(row, row.Source, sizeRequired: true, out RowMeasurements measurements) is { } bad) return bad;

        string imageName = row.Text(ListColumn.ImageFile) ?? "";
        Located imageFile = run.Locate(imageName);
        if (imageFile.Problem is { } problem) return Rejections.Entry(row.Source, imageFile.Reason, problem);
        string source = $"{RunFolder.Normalize(imageName, out _)} ({row.Source})";
        if (ExportImages.ReadFile(imageFile.FullPath!, source, out byte[] image) is { } unusable) return unusable;

        return new ExportEntry(new ExportParticle(id, image, source, measurements.EcdMicrometres, measurements.MicrometresPerPixel,
            measurements.Shape, ClassLabel: null), null);
    }
}
