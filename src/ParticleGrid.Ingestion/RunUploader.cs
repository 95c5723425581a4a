using System.Diagnostics;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Ingest;

namespace ParticleGrid.Ingestion;

/// <summary>What to ingest a run folder as.</summary>
/// <param name="RetryFor">How long each call waits through an outage of the site (default <see cref="SiteOutages.DefaultRetryFor"/>).</param>
/// <param name="RetryFailed">First remove the run's particles an outage recorded as failed before outages paused runs, so they are sent again.</param>
public sealed record IngestSettings(string LotId, string InstrumentId, string RunId, double? MicrometresPerPixel,
    double? AnalysedVolumeMl, double? ContainerVolumeMl, int BatchSize = 32, int BatchesInFlight = 4, TimeSpan? RetryFor = null,
    bool RetryFailed = false);

/// <summary>What an ingest did: what it read, refused, sent, how the run stands, and what the user should fix.</summary>
/// <param name="Warnings">Said at the start of the run too, e.g. "sizes unknown: give --um-per-pixel".</param>
public sealed record IngestReport(string RunId, string Format, int ParticlesRead, int AlreadyRecordedBefore, int Sent, int Appended,
    IReadOnlyList<ExportRejection> Rejected, RunStatus Status, IReadOnlyList<string> Warnings);

/// <summary>
/// Sends one run folder to a cluster, resumably: it asks the run which particles it has not recorded and sends only
/// those, so running it again after an interruption sends what is missing and counts nothing twice. Bad items are
/// refused here with their reason and never reach the run. An outage of the site (its gateway restarting, a run paused
/// because no worker can classify or the store is down) is waited through for <see cref="IngestSettings.RetryFor"/>
/// (<see cref="SiteOutages"/>); past that the upload ends with one line saying what is recorded and that running it
/// again resumes (<see cref="IngestInterruptedException"/>).
/// </summary>
/// <remarks>
/// It streams, so that its memory stays flat however big the run (a run is hundreds of thousands of images): the
/// folder is read twice, lazily. The first pass keeps only counts and the rejections, because the run must be started
/// with its particle count and the user warned (sizes unknown) before anything is sent. The second pass reads the
/// particles a chunk at a time, asks the run which of the chunk's ids it lacks, and sends those in batches, a few in
/// flight; reading waits while they are, so at most a chunk and the batches in flight hold images. A reader yields
/// the same ids in the same order each time (<see cref="IExportReader.Read"/>).
/// </remarks>
public static class RunUploader
{
    /// <summary>Particles read, and asked about, at a time in the sending pass; the HTTP endpoint takes up to 1000 ids a question.</summary>
    public const int ParticlesPerQuestion = 256;

    /// <summary>Sends the run to its grain (an Orleans client or an in-process host).</summary>
    /// <param name="warn">Told each warning when the run starts, before anything is sent.</param>
    public static Task<IngestReport> UploadAsync(IGrainFactory grains, IExportReader reader, string folder, IngestSettings settings,
        Action<string, int, int, double>? progress, CancellationToken cancellation, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return UploadAsync(new GrainRunTarget(grains, settings.RunId), reader, folder, settings, progress, cancellation, warn);
    }

    /// <param name="run">The run <see cref="IngestSettings.RunId"/> names, on the site it is sent to.</param>
    /// <param name="progress">
    /// Told ("reading", items read, 0, 0) every 100 items of the first pass, then ("sending", particles done, particles
    /// read, particles sent per second) after each batch sent, where done counts those the run had recorded before too.
    /// </param>
    /// <param name="warn">Told each warning when the run starts, before anything is sent.</param>
    public static async Task<IngestReport> UploadAsync(IRunTarget run, IExportReader reader, string folder, IngestSettings settings,
        Action<string, int, int, double>? progress, CancellationToken cancellation, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(settings);

        var survey = Survey(reader, folder, progress, cancellation);
        var warnings = Warnings(survey.Unsized, survey.Particles, settings);
        foreach (var warning in warnings) warn?.Invoke(warning);

        var outages = new SiteOutages(settings.RetryFor ?? SiteOutages.DefaultRetryFor, warn);
        int alreadyRecorded = 0, appended = 0;
        try
        {
            return await SendAsync(run, reader, folder, settings, survey, warnings, outages, progress, cancellation, warn,
                counted => (alreadyRecorded, appended) = counted);
        }
        catch (Exception e) when (SiteOutages.IsOutage(e) && !cancellation.IsCancellationRequested)
        {
            // What the site confirmed: those it had before and those it acknowledged now (a batch in flight may be there too).
            int recorded = alreadyRecorded + appended;
            throw new IngestInterruptedException($"run {settings.RunId}: the site did not answer for {SiteOutages.Format(outages.RetryFor)} " +
                $"({SiteOutages.Describe(e)}); {recorded} of {survey.Particles} particles are recorded; run the same command again to resume", e);
        }
    }

    /// <summary>The run started, its rejections noted and its particles sent; every call through <paramref name="outages"/>.</summary>
    /// <param name="counted">Told (already recorded, appended now) as they change, for the line an interruption prints.</param>
    private static async Task<IngestReport> SendAsync(IRunTarget run, IExportReader reader, string folder, IngestSettings settings, RunSurvey survey,
        IReadOnlyList<string> warnings, SiteOutages outages, Action<string, int, int, double>? progress, CancellationToken cancellation,
        Action<string>? warn, Action<(int, int)> counted)
    {
        await outages.CallAsync(() => run.Start(new RunDescriptor(settings.LotId, settings.InstrumentId, settings.AnalysedVolumeMl, survey.Particles,
            settings.MicrometresPerPixel), settings.ContainerVolumeMl), cancellation);

        if (settings.RetryFailed)
        {
            var removed = await outages.CallAsync(run.RetryInfrastructureFailures, cancellation);
            warn?.Invoke(removed.Count == 0
                ? "--retry-failed: no particle of the run was recorded as failed by an outage"
                : $"--retry-failed: {removed.Count} particles recorded as failed by an outage were removed; they are sent again");
        }

        if (survey.Rejected.Count > 0) await outages.CallAsync(() => run.ReportRejections([.. survey.Rejected.Select(r => new RejectedItem(r.Source, r.Reason.ToString()))]), cancellation);

        int alreadyRecorded = 0, sent = 0, appended = 0;
        void Count() => counted((Volatile.Read(ref alreadyRecorded), Volatile.Read(ref appended)));
        var clock = Stopwatch.StartNew();
        using var inFlight = new SemaphoreSlim(settings.BatchesInFlight);
        var sending = new List<Task>();
        async Task SendBatchAsync(ExportParticle[] batch)
        {
            try
            {
                var particles = batch.Select(ToParticleImage).ToList();
                var receipt = await outages.CallAsync(() => run.SubmitBatch($"{batch[0].ParticleId}+{batch.Length}", particles), cancellation);
                int done = Interlocked.Add(ref sent, batch.Length);
                Interlocked.Add(ref appended, receipt.Appended);
                Count();
                progress?.Invoke("sending", Volatile.Read(ref alreadyRecorded) + done, survey.Particles, done / Math.Max(clock.Elapsed.TotalSeconds, 1e-3));
            }
            finally
            {
                inFlight.Release();
            }
        }

        foreach (var chunk in Particles(reader.Read(folder, cancellation)).Chunk(ParticlesPerQuestion))
        {
            var missing = new HashSet<string>(await outages.CallAsync(() => run.Unrecorded([.. chunk.Select(p => p.ParticleId)]), cancellation), StringComparer.Ordinal);
            Interlocked.Add(ref alreadyRecorded, chunk.Length - missing.Count);
            Count();
            foreach (var batch in chunk.Where(p => missing.Contains(p.ParticleId)).Chunk(settings.BatchSize))
            {
                // Reading on waits for a free slot: this is what keeps the images held to a chunk and the batches in flight.
                await inFlight.WaitAsync(cancellation);
                sending.RemoveAll(t => t.IsCompletedSuccessfully);
                // A batch that failed ends the upload as before (after those in flight), rather than reading on.
                if (sending.Any(t => t.IsCompleted)) { inFlight.Release(); break; }
                sending.Add(SendBatchAsync(batch));
            }
            if (sending.Any(t => t.IsCompleted && !t.IsCompletedSuccessfully)) break;
        }
        await Task.WhenAll(sending);

        var status = await outages.CallAsync(run.Complete, cancellation);
        return new IngestReport(settings.RunId, reader.Format, survey.Particles, alreadyRecorded, sent, appended, survey.Rejected, status, warnings);
    }

    /// <summary>What the first pass keeps of a run: counts and the rejections, no images.</summary>
    private sealed record RunSurvey(int Particles, int Unsized, IReadOnlyList<ExportRejection> Rejected);

    private static RunSurvey Survey(IExportReader reader, string folder, Action<string, int, int, double>? progress, CancellationToken cancellation)
    {
        int particles = 0, unsized = 0;
        var rejected = new List<ExportRejection>();
        foreach (var entry in reader.Read(folder, cancellation))
        {
            if (entry.Particle is { } particle)
            {
                particles++;
                if (particle.EcdMicrometres is null && particle.MicrometresPerPixel is null) unsized++;
            }
            else rejected.Add(entry.Rejection!);
            if ((particles + rejected.Count) % 100 == 0) progress?.Invoke("reading", particles + rejected.Count, 0, 0);
        }
        return new RunSurvey(particles, unsized, rejected);
    }

    /// <summary>The particles of a read; its rejections were counted and reported from the first pass.</summary>
    private static IEnumerable<ExportParticle> Particles(IEnumerable<ExportEntry> entries)
    {
        foreach (var entry in entries)
            if (entry.Particle is { } particle) yield return particle;
    }

    /// <summary>
    /// What the user should hear before the run is sent: particles that will have no size, because the export gives
    /// none and there is no calibration (--um-per-pixel, run.json's umPerPixel, or the list's calibration factor).
    /// </summary>
    public static IReadOnlyList<string> Warnings(IReadOnlyList<ExportParticle> particles, IngestSettings settings)
    {
        ArgumentNullException.ThrowIfNull(particles);
        return Warnings(particles.Count(p => p.EcdMicrometres is null && p.MicrometresPerPixel is null), particles.Count, settings);
    }

    /// <param name="unsized">Particles with neither an instrument size nor a calibration of their own.</param>
    public static IReadOnlyList<string> Warnings(int unsized, int particles, IngestSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.MicrometresPerPixel is not null) return [];
        return SizeWarnings.ForRun(unsized, particles) is { } warning ? [warning] : [];
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
