namespace ParticleGrid.Ingest;

/// <summary>Reads one instrument's export format from a run folder.</summary>
public interface IExportReader
{
    /// <summary>The format's name: "image-folder", "flowcam" or "mfi".</summary>
    string Format { get; }

    /// <summary>
    /// Reads the particles of <paramref name="runFolder"/> lazily (one particle's image in memory at a time, plus one
    /// collage at a time), in a stable order, so that a re-run yields the same ids in the same order. Each bad item is
    /// one rejection and the rest is still read.
    /// </summary>
    /// <exception cref="ExportException">The folder or its list cannot be read at all (thrown while enumerating).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    IEnumerable<ExportEntry> Read(string runFolder, CancellationToken cancellation = default);
}

/// <summary>The three readers, and the choice between them for a run folder.</summary>
public static class ExportReaders
{
    /// <summary>Folders of single-particle images, one sub-folder per class or flat, with an optional particles.csv.</summary>
    public static IExportReader ImageFolder { get; } = new ImageFolderReader();

    /// <summary>FlowCAM VisualSpreadsheet: a .lst (or exported .csv) particle list and collage TIFFs.</summary>
    public static IExportReader FlowCam { get; } = new FlowCamReader();

    /// <summary>MFI (Micro-Flow Imaging): a CSV of particles and one image file per particle.</summary>
    public static IExportReader Mfi { get; } = new MfiReader();

    /// <summary>
    /// Picks the reader for a run folder from the lists at its top level: FlowCAM when it holds a *.lst file or a CSV
    /// whose header has the collage box columns; MFI when it holds a CSV with a particle id, an ECD and an image-file
    /// column; otherwise a folder of single-particle images. particles.csv is the image folder's own list and never
    /// makes a folder FlowCAM or MFI.
    /// </summary>
    /// <exception cref="ExportException"><paramref name="runFolder"/> is not a folder.</exception>
    public static IExportReader Detect(string runFolder)
    {
        var run = RunFolder.Open(runFolder);
        if (ParticleLists.FindFlowCamList(run) is not null) return FlowCam;
        if (ParticleLists.FindMfiList(run) is not null) return Mfi;
        return ImageFolder;
    }
}
