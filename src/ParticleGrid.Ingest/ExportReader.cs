namespace ParticleGrid.Ingest;

/// <summary>
/// The skeleton every export format shares. <see cref="Read"/> checks its argument at once (not on the caller's first
/// MoveNext), opens the run folder, checks for cancellation before each item is read, and keeps the particle ids the run
/// has had, so a repeated id is a rejection in every format alike. A format says only how its items are found and made
/// into particles (<see cref="Entries"/>).
/// </summary>
internal abstract class ExportReader : IExportReader
{
    public abstract string Format { get; }

    public IEnumerable<ExportEntry> Read(string runFolder, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(runFolder);
        return ReadRun(runFolder, cancellation);
    }

    private IEnumerable<ExportEntry> ReadRun(string runFolder, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var run = RunFolder.Open(runFolder);
        var claimed = new HashSet<string>(StringComparer.Ordinal);

        // An item's file is read when its entry is asked for, so checking before each MoveNext stops before the next file.
        using IEnumerator<ExportEntry> entries = Entries(run, claimed).GetEnumerator();
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            if (!entries.MoveNext()) yield break;
            yield return entries.Current;
        }
    }

    /// <summary>The run's items in a stable order, each one particle or one rejection; ids are claimed in <paramref name="claimed"/>.</summary>
    /// <exception cref="ExportException">The run's list cannot be read at all.</exception>
    protected abstract IEnumerable<ExportEntry> Entries(RunFolder run, HashSet<string> claimed);
}

/// <summary>
/// The part of the skeleton the two list formats (FlowCAM, MFI) share: the run's list must be there with the format's
/// columns and a size column, and each row must be well formed, name a fresh, valid id and give a size. What is left
/// to the format is where a row's image is (<see cref="RowImages"/>).
/// </summary>
internal abstract class ParticleListReader : ExportReader
{
    /// <summary>The columns the format cannot do without (a size column is required besides).</summary>
    protected abstract IReadOnlyList<ListColumn> RequiredColumns { get; }

    /// <summary>The run's particle list, or null when it has none.</summary>
    protected abstract string? FindList(RunFolder run);

    /// <summary>Why a folder without a list is not a run of this format ("no MFI particle list: ...").</summary>
    protected abstract string NoList { get; }

    /// <summary>Where this run's rows find their images; disposed when the run has been read.</summary>
    protected abstract RowImages OpenImages(RunFolder run);

    protected sealed override IEnumerable<ExportEntry> Entries(RunFolder run, HashSet<string> claimed)
    {
        string listName = FindList(run) ?? throw new ExportException(run.Given, NoList);
        using ParticleList list = ParticleList.Open(run, listName);
        list.Require([.. RequiredColumns], size: true);

        using RowImages images = OpenImages(run);
        foreach (ListRow row in list.Rows()) yield return ReadRow(row, claimed, images);
    }

    private static ExportEntry ReadRow(ListRow row, HashSet<string> claimed, RowImages images)
    {
        if (RowChecks.Shape(row) is { } misshapen) return misshapen;
        string id = row.Text(ListColumn.ParticleId) ?? "";
        if (RowChecks.ClaimId(id, row.Source, claimed) is { } refused) return refused;
        if (RowChecks.Measurements(row, row.Source, sizeRequired: true, out RowMeasurements measurements) is { } bad) return bad;
        return images.Read(row, id, measurements);
    }

    /// <summary>Where one run's list rows find their images: MFI's image files, FlowCAM's collages.</summary>
    protected abstract class RowImages : IDisposable
    {
        /// <summary>The row's particle with its image, or why its image cannot be used.</summary>
        public abstract ExportEntry Read(ListRow row, string id, RowMeasurements measurements);

        public virtual void Dispose() { }
    }
}
