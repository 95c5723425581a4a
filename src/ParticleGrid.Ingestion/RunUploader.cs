using System.Diagnostics;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Ingest;

namespace ParticleGrid.Ingestion;

/// <summary>What to ingest a run folder as.</summary>
public sealed record IngestSettings(string LotId, string InstrumentId, string RunId, double? MicrometresPerPixel,
    double? AnalysedVolumeMl, double? ContainerVolumeMl, int BatchSize = 32, int BatchesInFlight = 4);

/// <summary>What an ingest did: what it read, refused, sent, how the run stands, and what the user should fix.</summary>
/// <param name="Warnings">Said at the start of the run too, e.g. "sizes unknown: give --um-per-pixel".</param>
public sealed record IngestReport(string RunId, string Format, int ParticlesRead, int AlreadyRecordedBefore, int Sent, int Appended,
    IReadOnlyList<ExportRejection> Rejected, RunStatus Status, IReadOnlyList<string> Warnings);

/// <summary>
/// Sends one run folder to a cluster, resumably: it asks the run which particles it has not recorded and sends only
/// those, so running it again after an interruption sends what is missing and counts nothing twice. Bad items are
/// refused here with their reason and never reach the run.
/// </summary>
public static class RunUploader
{
    private const int IdsPerQuestion = 1000;

    /// <summary>Sends the run to its grain (an Orleans client or an in-process host).</summary>
    /// <param name="warn">Told each warning when the run starts, before anything is sent.</param>
    public static Task<IngestReport> UploadAsync(IGrainFactory grains, IExportReader reader, string folder, IngestSettings settings,
        Action<string, int, int, double>? progress, CancellationToken cancellation, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return UploadAsync(new GrainRunTarget(grains, settings.RunId), reader, folder, settings, progress, cancellation, warn);
    }

    /// <param name="run">The run <see cref="IngestSettings.RunId"/> names, on the site it is sent to.</param>
    /// <param name="warn">Told each warning when the run starts, before anything is sent.</param>
    public static async Task<IngestReport> UploadAsync(IRunTarget run, IExportReader reader, string folder, IngestSettings settings,
        Action<string, int, int, double>? progress, CancellationToken cancellation, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(settings);
        var particles = new List<ExportParticle>();
        var rejected = new List<ExportRejection>();
        foreach (var entry in reader.Read(folder, cancellation))
        {
            if (entry.Particle is { } particle) particles.Add(particle);
            else rejected.Add(entry.Rejection!);
            if ((particles.Count + rejected.Count) % 100 == 0) progress?.Invoke("reading", particles.Count + rejected.Count, 0, 0);
        }

        var warnings = Warnings(particles, settings);
        foreach (var warning in warnings) warn?.Invoke(warning);

        await run.Start(new RunDescriptor(settings.LotId, settings.InstrumentId, settings.AnalysedVolumeMl, particles.Count, settings.MicrometresPerPixel),
            settings.ContainerVolumeMl);

        if (rejected.Count > 0) await run.ReportRejections([.. rejected.Select(r => new RejectedItem(r.Source, r.Reason.ToString()))]);

        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ids in particles.Select(p => p.ParticleId).Chunk(IdsPerQuestion))
            missing.UnionWith(await run.Unrecorded(ids));
        var toSend = particles.Where(p => missing.Contains(p.ParticleId)).ToList();

        int sent = 0, appended = 0;
        var clock = Stopwatch.StartNew();
        using var inFlight = new SemaphoreSlim(settings.BatchesInFlight);
        var sending = toSend.Chunk(settings.BatchSize).Select(async chunk =>
        {
            await inFlight.WaitAsync(cancellation);
            try
            {
                var receipt = await run.SubmitBatch($"{chunk[0].ParticleId}+{chunk.Length}", [.. chunk.Select(ToParticleImage)]);
                int done = Interlocked.Add(ref sent, chunk.Length);
                Interlocked.Add(ref appended, receipt.Appended);
                progress?.Invoke("sending", done, toSend.Count, done / Math.Max(clock.Elapsed.TotalSeconds, 1e-3));
            }
            finally
            {
                inFlight.Release();
            }
        }).ToList();
        await Task.WhenAll(sending);

        var status = await run.Complete();
        return new IngestReport(settings.RunId, reader.Format, particles.Count, particles.Count - toSend.Count, sent, appended, rejected, status, warnings);
    }

    /// <summary>
    /// What the user should hear before the run is sent: particles that will have no size, because the export gives
    /// none and there is no calibration (--um-per-pixel, run.json's umPerPixel, or the list's calibration factor).
    /// </summary>
    public static IReadOnlyList<string> Warnings(IReadOnlyList<ExportParticle> particles, IngestSettings settings)
    {
        ArgumentNullException.ThrowIfNull(particles);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.MicrometresPerPixel is not null) return [];
        int unsized = particles.Count(p => p.EcdMicrometres is null && p.MicrometresPerPixel is null);
        return SizeWarnings.ForRun(unsized, particles.Count) is { } warning ? [warning] : [];
    }

    private static ParticleImage ToParticleImage(ExportParticle p) => new(p.ParticleId, p.Image, p.EcdMicrometres, p.MicrometresPerPixel,
        p.Shape);

    /// <summary>A run id from the instrument and the sample (or the folder's name): the same export gives the same run.</summary>
    public static string RunIdFor(string instrumentId, string? sample, string folder)
    {
        string name = sample ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
        string cleaned = new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_')]);
        string id = $"{instrumentId}:{cleaned}";
        return id.Length <= 128 ? id : id[..128];
    }
}
