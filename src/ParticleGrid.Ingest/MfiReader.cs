namespace ParticleGrid.Ingest;

/// <summary>
/// Reads an MFI (Micro-Flow Imaging) run: a CSV with one row per particle, a particle id ("Particle ID" / "ID" /
/// "Particle #"), its ECD ("ECD (µm)" / "ECD (um)" / "ECD"), optionally "Circularity", "Aspect Ratio" and "Intensity
/// Mean", and its own image file ("Image File" / "Filename" / "Image", relative to the run folder). Rows come in
/// list order.
/// </summary>
internal sealed class MfiReader : ParticleListReader
{
    public override string Format => "mfi";

    protected override IReadOnlyList<ListColumn> RequiredColumns { get; } = [ListColumn.ParticleId, ListColumn.ImageFile];

    protected override string NoList => "no MFI particle list: no .csv with Particle ID, ECD and Image File columns";

    protected override string? FindList(RunFolder run) => ParticleLists.FindMfiList(run);

    protected override RowImages OpenImages(RunFolder run) => new ImageFiles(run);

    /// <summary>Each row names its own image file.</summary>
    private sealed class ImageFiles(RunFolder run) : RowImages
    {
        public override ExportEntry Read(ListRow row, string id, RowMeasurements measurements)
        {
            string imageName = row.Text(ListColumn.ImageFile) ?? "";
            Located imageFile = run.Locate(imageName);
            if (imageFile.Problem is { } problem) return Rejections.Entry(row.Source, imageFile.Reason, problem);
            string source = $"{RunFolder.Normalize(imageName, out _)} ({row.Source})";
            if (ExportImages.ReadFile(imageFile.FullPath!, source, out byte[] image) is { } unusable) return unusable;
            return measurements.Particle(id, image, source);
        }
    }
}
