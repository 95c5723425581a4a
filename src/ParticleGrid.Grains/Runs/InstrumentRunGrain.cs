using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Storage;
using Polly;
using Polly.Retry;

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

/// <summary>How a run sends particles to workers and how long it waits through an outage.</summary>
public sealed class RunOptions
{
    /// <summary>The most particles in one call to a worker (a submitted batch is split into calls this big).</summary>
    public int ParticlesPerWorkerCall { get; set; } = 64;

    /// <summary>How long a call keeps honouring "retry after" from busy workers before the run answers "paused".</summary>
    public TimeSpan MaxBusyWait { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long one call to the run waits, retrying with backoff, while no worker can classify or the store cannot be
    /// reached, before it answers "paused, send it again" (<see cref="RunPausedException"/>). Below Orleans' 30 s
    /// response timeout, so the caller hears why rather than a timeout.
    /// </summary>
    public TimeSpan OutageWait { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>What a paused run tells its caller to wait before sending again (HTTP: Retry-After).</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

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
/// different worker per run); a busy worker's "retry after" is honoured and a failing worker is replaced by the next.
/// Results are appended to the store keyed by (run, particle): a replayed batch appends nothing and is not classified
/// again.
/// </summary>
/// <remarks>
/// Outages pause a run; they never fail its particles. Only a particle's own content (an image that cannot be decoded)
/// is recorded as failed. When no worker can classify, or the store cannot be read or written, a call retries with
/// backoff for <see cref="RunOptions.OutageWait"/>, then answers <see cref="RunPausedException"/> with nothing of it
/// recorded, and the caller sends the same request again (the ingest commands do, for --retry-for; HTTP hears 503 with
/// Retry-After). The retry is a Polly pipeline inside the call, not an Orleans reminder: the particles live only in the
/// caller's request, so nothing durable has to wait, and a reminder would need their images kept in grain state. So
/// the ledger stays append-only, and a particle waits, bounded by its caller's batches in flight, until classified.
/// </remarks>
[GatewaySiloPlacement]
public sealed class InstrumentRunGrain(
    [PersistentState("run", StorageNames.Grains)] IPersistentState<InstrumentRunState> state,
    IParticleStore store,
    WorkerSilos workers,
    RunOptions options,
    ParticleGridMetrics metrics,
    VerdictPolicy verdictPolicy,
    DeepCopier copier,
    ILogger<InstrumentRunGrain> logger) : Grain, IInstrumentRunGrain
{
    private string RunId => this.GetPrimaryKeyString();
    private int _nextWorker = Random.Shared.Next(1024);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The store is the truth: a run it knows is never "unknown", even if grain state was lost.
        if (state.State.Descriptor is null && await StoreAsync(() => store.GetRunAsync(RunId, cancellationToken)) is { } run)
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
            if (known.ExpectedParticles != descriptor.ExpectedParticles) await WriteStateAsync(s => s.Descriptor = descriptor);
            return await GetStatus();
        }

        var started = DateTimeOffset.UtcNow;
        try
        {
            await StoreAsync(async () =>
            {
                await store.SaveRunAsync(new RunRecord(RunId, descriptor.LotId, descriptor.InstrumentId, descriptor.AnalysedVolumeMl, descriptor.ExpectedParticles, started));
                return 0;
            });
        }
        catch (StoreConflictException e)
        {
            throw new ArgumentException(e.Message);
        }
        await WriteStateAsync(s =>
        {
            s.Descriptor = descriptor;
            s.State = RunState.Open;
            s.StartedUtc = started;
        });
        logger.LogInformation("Run {Run} started: lot {Lot}, instrument {Instrument}", RunId, descriptor.LotId, descriptor.InstrumentId);
        return await GetStatus();
    }

    public async Task<BatchReceipt> SubmitBatch(string batchId, IReadOnlyList<ParticleImage> particles)
    {
        var run = state.State.Descriptor ?? throw new InvalidOperationException($"run {RunId} was not started; start it with its lot and instrument first");
        CheckBatch(batchId, particles);

        var stored = await StoreAsync(() => store.StoredParticleIdsAsync(RunId, [.. particles.Select(p => p.ParticleId)]));
        var fresh = particles.Where(p => !stored.Contains(p.ParticleId)).ToList();
        var calls = fresh.Chunk(options.ParticlesPerWorkerCall).Select(chunk => ClassifyOnWorkersAsync(run, batchId, chunk));
        // Every call must come back classified before anything is recorded: a paused call leaves the whole batch unrecorded.
        var verdicts = (await Task.WhenAll(calls)).SelectMany(v => v).ToList();

        var now = DateTimeOffset.UtcNow;
        var sent = fresh.ToDictionary(p => p.ParticleId);
        var records = verdicts.Select(v => Record(run, sent[v.ParticleId], v, now)).ToList();
        // A retried append after an ambiguous commit adds nothing: the ledger's key skips what is there, and so do the tallies.
        int appended = await StoreAsync(() => store.AppendAsync(records, onAppended: record =>
        {
            if (record.Failure is not null) metrics.Failed(record.InstrumentId, record.LotId);
            else metrics.Classified(record.Type ?? "unclassified", record.InstrumentId, record.LotId, record.IsUncertain);
        }));
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
        var stored = await StoreAsync(() => store.StoredParticleIdsAsync(RunId, [.. particleIds]));
        return [.. particleIds.Where(id => !stored.Contains(id))];
    }

    public async Task<IReadOnlyList<string>> RetryInfrastructureFailures()
    {
        if (state.State.Descriptor is null) throw new InvalidOperationException($"run {RunId} was not started");
        var removed = await StoreAsync(() => store.RemoveInfrastructureFailuresAsync(RunId));
        if (removed.Count > 0)
            logger.LogWarning("Run {Run}: {Count} particles recorded as failed by an outage were removed, to be sent again", RunId, removed.Count);
        return removed;
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

    /// <summary>No worker silo is in the cluster: an outage like a failing worker, waited through the same way.</summary>
    private sealed class NoWorkerException() : Exception("no worker silo is in the cluster");

    /// <summary>When the current call began waiting (a Stopwatch timestamp), so the retry knows when to stop.</summary>
    private static readonly ResiliencePropertyKey<long> CallStarted = new("particlegrid.call-started");

    private static TimeSpan WaitedSoFar(ResilienceContext context) =>
        Stopwatch.GetElapsedTime(context.Properties.GetValue(CallStarted, Stopwatch.GetTimestamp()));

    /// <summary>
    /// Worker calls: a busy worker's "retry after" is honoured for <see cref="RunOptions.MaxBusyWait"/>; any other
    /// failure (an error, a lost silo, no worker at all) is an outage, retried on the next worker with exponential
    /// backoff for <see cref="RunOptions.OutageWait"/>. No model set anywhere is not waited for: an admin must act.
    /// </summary>
    private ResiliencePipeline WorkerRetries => _workerRetries ??= new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
    {
        MaxRetryAttempts = int.MaxValue,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        Delay = TimeSpan.FromMilliseconds(200),
        MaxDelay = TimeSpan.FromSeconds(3),
        ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception switch
        {
            null or NoModelSetException => false,
            WorkerBusyException => WaitedSoFar(args.Context) < options.MaxBusyWait,
            _ => WaitedSoFar(args.Context) < options.OutageWait,
        }),
        DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is WorkerBusyException busy
            ? TimeSpan.FromMilliseconds(busy.RetryAfterMs) : (TimeSpan?)null),
        OnRetry = args =>
        {
            if (args.Outcome.Exception is not WorkerBusyException and { } e)
                logger.LogWarning("Run {Run}: no worker could classify ({Failure}); trying again in {Delay} ms", RunId, e.Message, (int)args.RetryDelay.TotalMilliseconds);
            return ValueTask.CompletedTask;
        },
    }).Build();

    private ResiliencePipeline? _workerRetries;

    /// <summary>One call's worth of particles to some worker: busy workers are waited for, failing ones replaced, outages waited through.</summary>
    private async Task<IReadOnlyList<ParticleVerdict>> ClassifyOnWorkersAsync(RunDescriptor run, string batchId, IReadOnlyList<ParticleImage> particles)
    {
        var request = new ClassificationRequest(RunId, run.InstrumentId, particles, run.MicrometresPerPixel);
        var context = ResilienceContextPool.Shared.Get();
        context.Properties.Set(CallStarted, Stopwatch.GetTimestamp());
        // Polly resumes a retry off the grain's scheduler, where the grain's own services may not be touched: the factory
        // is taken here, and the next worker is counted atomically (calls of one batch run at once).
        var grains = GrainFactory;
        try
        {
            return await WorkerRetries.ExecuteAsync(async _ =>
            {
                var silos = workers.Active();
                if (silos.Count == 0) throw new NoWorkerException();
                var silo = silos[(int)((uint)Interlocked.Increment(ref _nextWorker) % silos.Count)];
                return await grains.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(silo)).Classify(request);
            }, context);
        }
        catch (Exception e) when (e is not NoModelSetException)
        {
            string waited = e is WorkerBusyException ? $"workers stayed busy for {options.MaxBusyWait.TotalSeconds:0} s" : $"no worker could classify for {options.OutageWait.TotalSeconds:0} s";
            throw Paused($"{waited} (last: {e.Message}); nothing of batch {batchId} was recorded");
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Store calls: an outage of the store (down, unreachable, its disk full) is retried with backoff for <see cref="RunOptions.OutageWait"/>.</summary>
    private ResiliencePipeline StoreRetries => _storeRetries ??= new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
    {
        MaxRetryAttempts = int.MaxValue,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        Delay = TimeSpan.FromMilliseconds(200),
        MaxDelay = TimeSpan.FromSeconds(3),
        ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && StoreOutages.IsOutage(e) && WaitedSoFar(args.Context) < options.OutageWait),
        OnRetry = args =>
        {
            logger.LogWarning("Run {Run}: the particle store ({Store}) failed ({Failure}); trying again in {Delay} ms", RunId, store, args.Outcome.Exception?.Message,
                (int)args.RetryDelay.TotalMilliseconds);
            return ValueTask.CompletedTask;
        },
    }).Build();

    private ResiliencePipeline? _storeRetries;

    /// <summary>A read or write of the store, waited through an outage; past the wait the run answers "paused".</summary>
    private async Task<T> StoreAsync<T>(Func<Task<T>> call)
    {
        var context = ResilienceContextPool.Shared.Get();
        context.Properties.Set(CallStarted, Stopwatch.GetTimestamp());
        try
        {
            return await StoreRetries.ExecuteAsync(async _ => await call(), context);
        }
        catch (Exception e) when (StoreOutages.IsOutage(e))
        {
            throw Paused($"the particle store ({store}) cannot be used: {StoreOutages.Describe(e)}; nothing was recorded");
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private RunPausedException Paused(string why)
    {
        logger.LogWarning("Run {Run} paused: {Why}", RunId, why);
        return new RunPausedException($"run {RunId} is paused: {why}; send it again, the run resumes where it is",
            (int)options.RetryAfter.TotalMilliseconds);
    }

    /// <summary>
    /// Changes the state and writes it; when the write fails the grain keeps the state it had, so a retry of the same
    /// call finds the change not made and makes it again (it would otherwise find it made in memory and write nothing).
    /// </summary>
    private async Task WriteStateAsync(Action<InstrumentRunState> change)
    {
        try
        {
            await state.WriteChangeAsync(copier, change);
        }
        catch (Exception e) when (PersistentStateWrites.IsOutage(e))
        {
            throw Paused($"its state could not be written ({e.Message})");
        }
    }

    public async Task<int> ReportRejections(IReadOnlyList<RejectedItem> items)
    {
        if (state.State.Descriptor is null) throw new InvalidOperationException($"run {RunId} was not started");
        static string Cut(string text) => text.Length <= RunOptions.MaxRejectionText ? text : text[..RunOptions.MaxRejectionText];
        var fresh = items.Where(i => i is { Source: not null, Reason: not null }).Select(i => i with { Source = Cut(i.Source), Reason = Cut(i.Reason) })
            .Where(i => !state.State.Rejected.ContainsKey(i.Source)).DistinctBy(i => i.Source).ToList();
        if (fresh.Count == 0) return 0;
        await WriteStateAsync(s =>
        {
            foreach (var item in fresh)
            {
                if (s.Rejected.Count < options.MaxStoredRejections) s.Rejected[item.Source] = item.Reason;
                else s.RejectedUnlisted++;
            }
        });
        foreach (var item in fresh) metrics.Rejected(item.Reason);
        return fresh.Count;
    }

    public async Task<RunStatus> Complete()
    {
        if (state.State.Descriptor is null) throw new InvalidOperationException($"run {RunId} was not started");
        // The store hears it every time (it keeps the first time): lot verdicts read completion from there, and a run
        // completed before the store kept completions is recorded when it is completed again.
        await StoreAsync(async () =>
        {
            await store.CompleteRunAsync(RunId, DateTimeOffset.UtcNow);
            return 0;
        });
        if (state.State.State != RunState.Completed) await WriteStateAsync(s => s.State = RunState.Completed);
        return await GetStatus();
    }

    public async Task<RunStatus> GetStatus()
    {
        if (state.State.Descriptor is null) return new RunStatus(RunId, RunState.Unknown, null, 0, 0, 0, 0);
        var counts = await StoreAsync(() => store.CountRunAsync(RunId));
        return new RunStatus(RunId, state.State.State, state.State.Descriptor, counts.Recorded, counts.Classified, counts.Uncertain, counts.Failed,
            state.State.Rejected.Count + state.State.RejectedUnlisted, await CompareWithTrainingDataAsync());
    }

    /// <summary>
    /// The run against each model set's training data, from the store's counts (the truth, whichever silo recorded them);
    /// the metric hears which model sets this run is in alarm for, and the log says when an alarm starts.
    /// </summary>
    private async Task<IReadOnlyList<DomainShiftCheck>> CompareWithTrainingDataAsync()
    {
        var checks = (await StoreAsync(() => store.DomainShiftCountsOfRunAsync(RunId))).Select(c => DomainShift.Assess(c, verdictPolicy.DomainShift)).ToList();
        var inAlarm = checks.Where(c => c.Alarm).Select(c => c.ModelSet).ToList();
        if (metrics.RunShift(RunId, inAlarm))
        {
            foreach (var check in checks.Where(c => c.Alarm)) logger.LogWarning("Run {Run}: {Detail}", RunId, check.Detail);
        }
        return checks;
    }
}
