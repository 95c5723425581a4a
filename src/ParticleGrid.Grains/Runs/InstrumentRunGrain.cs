using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Storage;

namespace ParticleGrid.Grains.Runs;

/// <summary>A run's durable state. Counts are not kept here: the particle store is the truth for them.</summary>
[GenerateSerializer]
public sealed class InstrumentRunState
{
    [Id(0)] public RunDescriptor? Descriptor { get; set; }
    [Id(1)] public RunState State { get; set; } = RunState.Unknown;
    [Id(2)] public DateTimeOffset StartedUtc { get; set; }

    /// <summary>Export items refused before they reached the run: source → reason (at most <see cref="RunOptions.MaxStoredRejections"/>).</summary>
    [Id(3)] public Dictionary<string, string> Rejected { get; set; } = [];

    /// <summary>Rejections reported after <see cref="Rejected"/> was full: counted, not listed (so a resent one may count twice).</summary>
    [Id(4)] public int RejectedUnlisted { get; set; }
}

/// <summary>How a run sends particles to workers and how hard it tries.</summary>
public sealed class RunOptions
{
    /// <summary>The most particles in one call to a worker (a submitted batch is split into calls this big).</summary>
    public int ParticlesPerWorkerCall { get; set; } = 64;

    /// <summary>Worker failures (errors, lost silos) a call may meet before its particles are recorded as failed.</summary>
    public int MaxWorkerFailures { get; set; } = 3;

    /// <summary>How long a call keeps honouring "retry after" from busy workers before it counts as a failure.</summary>
    public TimeSpan MaxBusyWait { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a call waits for a worker silo to appear when there is none.</summary>
    public TimeSpan NoWorkerWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most rejected items a run lists by source (10,000): the list is grain state, written whole on each change,
    /// so a client that reports without end must not grow it without end. Beyond, rejections are only counted.
    /// </summary>
    public int MaxStoredRejections { get; set; } = 10_000;

    /// <summary>The longest source or reason of a rejected item kept (longer ones are cut): they come from clients.</summary>
    public const int MaxRejectionText = 256;
}

/// <summary>
/// One instrument run. A submitted batch is split into calls, each sent to a worker silo (round robin, starting at a
/// different worker per run); a busy worker's "retry after" is honoured, a failing worker is replaced by the next,
/// and after <see cref="RunOptions.MaxWorkerFailures"/> the particles are recorded as failed with the cause. Results
/// are appended to the store keyed by (run, particle): a replayed batch appends nothing and is not classified again.
/// </summary>
[GatewaySiloPlacement]
public sealed class InstrumentRunGrain(
    [PersistentState("run", StorageNames.Grains)] IPersistentState<InstrumentRunState> state,
    IParticleStore store,
    WorkerSilos workers,
    RunOptions options,
    ParticleGridMetrics metrics,
    VerdictPolicy verdictPolicy,
    ILogger<InstrumentRunGrain> logger) : Grain, IInstrumentRunGrain
{
    private string RunId => this.GetPrimaryKeyString();
    private int _nextWorker = Random.Shared.Next(1024);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The store is the truth: a run it knows is never "unknown", even if grain state was lost.
        if (state.State.Descriptor is null && await store.GetRunAsync(RunId, cancellationToken) is { } run)
        {
            state.State.Descriptor = new RunDescriptor(run.LotId, run.InstrumentId, run.AnalysedVolumeMl, run.ExpectedParticles);
            state.State.State = run.CompletedUtc is null ? RunState.Open : RunState.Completed;
            state.State.StartedUtc = run.StartedUtc;
        }
    }

    public async Task<RunStatus> Start(RunDescriptor descriptor)
    {
        if (!Identifiers.IsValid(RunId)) throw new ArgumentException($"run id '{RunId}' is not valid: {Identifiers.Rule}");
        if (descriptor.Problem() is { } problem) throw new ArgumentException($"run {RunId}: {problem}");
        if (state.State.Descriptor is { } known)
        {
            // The expected count may change (an export that grew); what the run is may not.
            if (known with { ExpectedParticles = descriptor.ExpectedParticles } != descriptor)
            {
                throw new ArgumentException($"run {RunId} was started for lot {known.LotId} on instrument {known.InstrumentId} " +
                    $"(analysed volume {known.AnalysedVolumeMl?.ToString() ?? "unknown"} mL); a run id names one run");
            }
            if (known.ExpectedParticles != descriptor.ExpectedParticles)
            {
                state.State.Descriptor = descriptor;
                await state.WriteStateAsync();
            }
            return await GetStatus();
        }

        var started = DateTimeOffset.UtcNow;
        try
        {
            await store.SaveRunAsync(new RunRecord(RunId, descriptor.LotId, descriptor.InstrumentId, descriptor.AnalysedVolumeMl, descriptor.ExpectedParticles, started));
        }
        catch (StoreConflictException e)
        {
            throw new ArgumentException(e.Message);
        }
        state.State.Descriptor = descriptor;
        state.State.State = RunState.Open;
        state.State.StartedUtc = started;
        await state.WriteStateAsync();
        logger.LogInformation("Run {Run} started: lot {Lot}, instrument {Instrument}", RunId, descriptor.LotId, descriptor.InstrumentId);
        return await GetStatus();
    }

    public async Task<BatchReceipt> SubmitBatch(string batchId, IReadOnlyList<ParticleImage> particles)
    {
        var run = state.State.Descriptor ?? throw new InvalidOperationException($"run {RunId} was not started; start it with its lot and instrument first");
        CheckBatch(batchId, particles);

        var stored = await store.StoredParticleIdsAsync(RunId, [.. particles.Select(p => p.ParticleId)]);
        var fresh = particles.Where(p => !stored.Contains(p.ParticleId)).ToList();
        var calls = fresh.Chunk(options.ParticlesPerWorkerCall).Select(chunk => ClassifyOnWorkersAsync(run, chunk));
        var verdicts = (await Task.WhenAll(calls)).SelectMany(v => v).ToList();

        var now = DateTimeOffset.UtcNow;
        var sent = fresh.ToDictionary(p => p.ParticleId);
        var records = verdicts.Select(v => Record(run, sent[v.ParticleId], v, now)).ToList();
        int appended = await store.AppendAsync(records, onAppended: record =>
        {
            if (record.Failure is not null) metrics.Failed(record.InstrumentId, record.LotId);
            else metrics.Classified(record.Type ?? "unclassified", record.InstrumentId, record.LotId, record.IsUncertain);
        });
        metrics.Ingested(run.InstrumentId, run.LotId, appended);
        if (appended > 0) await CompareWithTrainingDataAsync();
        return new BatchReceipt(batchId, particles.Count, appended, particles.Count - appended, verdicts.Count(v => v.Failure is not null));
    }

    /// <summary>
    /// A particle's record: the instrument's size and shape where its list gives them, else what the worker measured
    /// from the image's mask (the record says which the size came from).
    /// </summary>
    private ParticleRecord Record(RunDescriptor run, ParticleImage sent, ParticleVerdict v, DateTimeOffset now)
    {
        double? ecd = sent.EcdMicrometres ?? v.MeasuredEcdMicrometres;
        string? sizeSource = sent.EcdMicrometres is not null ? "instrument" : v.MeasuredEcdMicrometres is not null ? "image" : null;
        ParticleShape? shape = sent.Shape is { } listed ? listed.Or(v.MeasuredShape) : v.MeasuredShape;
        return new ParticleRecord(RunId, v.ParticleId, run.LotId, run.InstrumentId, v.ImageSha256, ecd,
            v.Type, v.Probability, v.IsUncertain, v.UncertainReason, v.ModelSetVersion,
            v.Votes, v.Failure, now,
            sizeSource, shape, sent.Image);
    }

    public async Task<IReadOnlyList<string>> Unrecorded(IReadOnlyList<string> particleIds)
    {
        var stored = await store.StoredParticleIdsAsync(RunId, [.. particleIds]);
        return [.. particleIds.Where(id => !stored.Contains(id))];
    }

    /// <summary>Malformed metadata refuses the whole batch with the reason; nothing of it is recorded.</summary>
    private void CheckBatch(string batchId, IReadOnlyList<ParticleImage> particles)
    {
        if (particles is null || particles.Count == 0) throw new ArgumentException($"run {RunId} batch {batchId}: the batch is empty");
        foreach (var p in particles)
        {
            if (p is null) throw new ArgumentException($"run {RunId} batch {batchId}: a particle is missing (null)");
            if (!Identifiers.IsValid(p.ParticleId)) throw new ArgumentException($"run {RunId} batch {batchId}: particle id '{p.ParticleId}' is not valid: {Identifiers.Rule}");
            if (p.Image is null || p.Image.Length == 0) throw new ArgumentException($"run {RunId} batch {batchId}: particle {p.ParticleId} has no image bytes");
            if (p.EcdMicrometres is { } d && !(d >= 0 && double.IsFinite(d))) throw new ArgumentException($"run {RunId} batch {batchId}: particle {p.ParticleId} has ECD {d} um; it must be a non-negative number");
            if (p.MicrometresPerPixel is { } c && !(c > 0 && double.IsFinite(c))) throw new ArgumentException($"run {RunId} batch {batchId}: particle {p.ParticleId} has calibration {c} um per pixel; it must be a positive number");
        }
        var repeated = particles.GroupBy(p => p.ParticleId).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new ArgumentException($"run {RunId} batch {batchId}: particle id {repeated.Key} appears {repeated.Count()} times");
    }

    /// <summary>One call's worth of particles to some worker: busy workers are waited for, failing ones replaced.</summary>
    private async Task<IReadOnlyList<ParticleVerdict>> ClassifyOnWorkersAsync(RunDescriptor run, IReadOnlyList<ParticleImage> particles)
    {
        var request = new ClassificationRequest(RunId, run.InstrumentId, particles, run.MicrometresPerPixel);
        var failures = new List<string>();
        var busySince = DateTime.UtcNow;
        var noWorkerSince = DateTime.UtcNow;
        while (true)
        {
            var silos = workers.Active();
            if (silos.Count == 0)
            {
                if (DateTime.UtcNow - noWorkerSince > options.NoWorkerWait)
                {
                    failures.Add($"no worker silo was in the cluster for {options.NoWorkerWait.TotalSeconds:0} s");
                    return Failed(particles, failures);
                }
                await Task.Delay(500);
                continue;
            }
            noWorkerSince = DateTime.UtcNow;

            var silo = silos[_nextWorker++ % silos.Count];
            try
            {
                return await GrainFactory.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(silo)).Classify(request);
            }
            catch (WorkerBusyException busy)
            {
                if (DateTime.UtcNow - busySince > options.MaxBusyWait)
                {
                    failures.Add($"workers stayed busy for {options.MaxBusyWait.TotalSeconds:0} s");
                    return Failed(particles, failures);
                }
                await Task.Delay(busy.RetryAfterMs);
            }
            catch (NoModelSetException)
            {
                throw;   // nothing can be classified anywhere: the caller must activate a model set, not wait
            }
            catch (Exception e)
            {
                failures.Add($"{silo}: {e.GetType().Name}: {e.Message}");
                logger.LogWarning("Run {Run}: worker {Silo} failed on {Count} particles ({Failure}); {Left} tries left",
                    RunId, silo, particles.Count, e.Message, options.MaxWorkerFailures - failures.Count);
                if (failures.Count >= options.MaxWorkerFailures) return Failed(particles, failures);
            }
        }
    }

    private static IReadOnlyList<ParticleVerdict> Failed(IReadOnlyList<ParticleImage> particles, List<string> failures)
    {
        string cause = $"not classified after {failures.Count} worker failure(s): {string.Join(" | ", failures)}";
        return [.. particles.Select(p => new ParticleVerdict(p.ParticleId, ImageHash.Of(p.Image),
            null, null, false, null, null, [], cause))];
    }

    public async Task<int> ReportRejections(IReadOnlyList<RejectedItem> items)
    {
        if (state.State.Descriptor is null) throw new InvalidOperationException($"run {RunId} was not started");
        static string Cut(string text) => text.Length <= RunOptions.MaxRejectionText ? text : text[..RunOptions.MaxRejectionText];
        var fresh = items.Where(i => i is { Source: not null, Reason: not null }).Select(i => i with { Source = Cut(i.Source), Reason = Cut(i.Reason) })
            .Where(i => !state.State.Rejected.ContainsKey(i.Source)).DistinctBy(i => i.Source).ToList();
        if (fresh.Count == 0) return 0;
        foreach (var item in fresh)
        {
            if (state.State.Rejected.Count < options.MaxStoredRejections) state.State.Rejected[item.Source] = item.Reason;
            else state.State.RejectedUnlisted++;
            metrics.Rejected(item.Reason);
        }
        await state.WriteStateAsync();
        return fresh.Count;
    }

    public async Task<RunStatus> Complete()
    {
        if (state.State.Descriptor is null) throw new InvalidOperationException($"run {RunId} was not started");
        // The store hears it every time (it keeps the first time): lot verdicts read completion from there, and a run
        // completed before the store kept completions is recorded when it is completed again.
        await store.CompleteRunAsync(RunId, DateTimeOffset.UtcNow);
        if (state.State.State != RunState.Completed)
        {
            state.State.State = RunState.Completed;
            await state.WriteStateAsync();
        }
        return await GetStatus();
    }

    public async Task<RunStatus> GetStatus()
    {
        if (state.State.Descriptor is null) return new RunStatus(RunId, RunState.Unknown, null, 0, 0, 0, 0);
        var counts = await store.CountRunAsync(RunId);
        return new RunStatus(RunId, state.State.State, state.State.Descriptor, counts.Recorded, counts.Classified, counts.Uncertain, counts.Failed,
            state.State.Rejected.Count + state.State.RejectedUnlisted, await CompareWithTrainingDataAsync());
    }

    /// <summary>
    /// The run against each model set's training data, from the store's counts (the truth, whichever silo recorded them);
    /// the metric hears which model sets this run is in alarm for, and the log says when an alarm starts.
    /// </summary>
    private async Task<IReadOnlyList<DomainShiftCheck>> CompareWithTrainingDataAsync()
    {
        var checks = (await store.DomainShiftCountsOfRunAsync(RunId)).Select(c => DomainShift.Assess(c, verdictPolicy.DomainShift)).ToList();
        var inAlarm = checks.Where(c => c.Alarm).Select(c => c.ModelSet).ToList();
        if (metrics.RunShift(RunId, inAlarm))
        {
            foreach (var check in checks.Where(c => c.Alarm)) logger.LogWarning("Run {Run}: {Detail}", RunId, check.Detail);
        }
        return checks;
    }
}
