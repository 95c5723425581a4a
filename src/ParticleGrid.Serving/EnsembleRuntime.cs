using ParticleGrid.Inference.Native;
using Microsoft.Extensions.Logging;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Domain.Confidence;
using ParticleGrid.Imaging;
using ParticleGrid.Serving.Engines;
using ParticleGrid.Serving;

using ParticleGrid.Grains;
using ParticleGrid.Grains.Workers;
using ParticleGrid.ModelRepository;

namespace ParticleGrid.Serving;

/// <summary>
/// The ensemble on one worker silo (a singleton there): the loaded model sets, one <see cref="DynamicBatcher{TItem,TResult}"/>
/// for the device, and the vote. Images are decoded and preprocessed on the thread pool, batches run on the batcher's
/// own thread: none of it on an Orleans scheduler thread. (Not sealed: tests put a failing worker in a cluster.)
/// </summary>
public class EnsembleRuntime : IWorkerRuntime, IDisposable
{
    /// <summary>A decoded particle waiting for its batch.</summary>
    private sealed record PreparedParticle(IReadOnlyDictionary<int, float[]> Planes, byte[] Image, string Name);

    private readonly WorkerOptions _options;
    private readonly ILogger<EnsembleRuntime> _logger;
    private readonly EnsembleVoter _voter;
    private readonly DynamicBatcher<PreparedParticle, EnsembleResult> _batcher;
    private readonly object _modelGate = new();
    private readonly Dictionary<string, EnsembleModelSet> _prepared = [];
    private EnsembleModelSet? _active;

    private sealed record EnsembleResult(EnsembleDecision Decision, IReadOnlyList<float[]> PerModel, IReadOnlyList<double?> OutOfScopeRatios,
        EnsembleModelSet Set);

    private readonly ParticleGridMetrics _metrics;
    private readonly string _deviceName;

    public EnsembleRuntime(WorkerOptions options, ParticleGridMetrics metrics, ILogger<EnsembleRuntime> logger)
    {
        _options = options;
        _logger = logger;
        _metrics = metrics;
        _voter = options.CreateVoter();
        Selection = InferenceEngines.Resolve(options.Engine, options.Device);
        _deviceName = Selection.Device;
        _batcher = new DynamicBatcher<PreparedParticle, EnsembleResult>(options.Batching, RunBatch, "ensemble-batcher",
            (size, waited) => metrics.BatchRan(_deviceName, size, waited));
        metrics.ObserveWorker(() => (_deviceName, Engine, _batcher.Queued, ActiveVersion));
        if (Selection.Device != "cpu" && Selection.Engine == InferenceEngines.TorchSharp && InferenceEngines.OnnxRuntimeHasCuda)
            logger.LogWarning("ONNX Runtime cannot run on {Device} ({Problem}); the networks run on TorchSharp instead",
                Selection.Device, InferenceEngines.OnnxRuntimeCudaProblem);
    }

    /// <summary>The engine and device this worker runs its networks with (the fastest available unless configured).</summary>
    public EngineSelection Selection { get; }

    /// <summary>"onnxruntime" or "torchsharp".</summary>
    public string Engine => Selection.Engine;

    /// <summary>What the silo advertises: "cpu" or "cuda:N".</summary>
    public string DeviceDescription => _deviceName;

    public string? ActiveVersion { get { lock (_modelGate) return _active?.Version; } }

    public bool IsReady => ActiveVersion is not null;

    public int Queued => _batcher.Queued;

    public int Capacity => _batcher.Capacity;

    public long ClassifiedParticles => _batcher.ProcessedItems;

    public long Batches => _batcher.Batches;

    /// <summary>Loads and warms a set beside the active one (no-op when it is loaded already).</summary>
    /// <exception cref="ModelSetRefusedException">The set cannot be loaded; the active one is untouched.</exception>
    public async Task PrepareAsync(ModelSetInfo set)
    {
        lock (_modelGate)
        {
            if (_active?.Version == set.Version || _prepared.ContainsKey(set.Version)) return;
        }
        EnsembleModelSet loaded;
        try
        {
            loaded = await Task.Run(() =>
            {
                using var step = NativeSteps.Begin($"loading and warming model set {set.Version} on the worker");
                return EnsembleModelSet.Load([.. set.Members.Select(m => m.Directory)], Selection, _options.Threads);
            });
        }
        catch (ModelSetException e)
        {
            throw new ModelSetRefusedException($"model set {set.Version}: {e.Message}");
        }
        if (loaded.Version != set.Version)
        {
            loaded.Dispose();
            throw new ModelSetRefusedException($"model set {set.Version}: the folders now hold {loaded.Version}; the models changed after registration");
        }
        lock (_modelGate)
        {
            if (!_prepared.TryAdd(set.Version, loaded)) loaded.Dispose();
        }
        _logger.LogInformation("Model set {Version} loaded and warmed: {Engine} on {Device}", set.Version, Engine, DeviceDescription);
    }

    /// <summary>Switches to a prepared set; the old one is unloaded between batches, never during one.</summary>
    public void Activate(string version)
    {
        lock (_modelGate)
        {
            if (_active?.Version == version) return;
            if (!_prepared.Remove(version, out var next))
            {
                throw new InvalidOperationException($"model set {version} is not prepared on this worker; prepare it first");
            }
            var previous = _active;
            _active = next;
            previous?.Dispose();   // the batch loop takes _modelGate for each batch, so no batch is using it
        }
        _logger.LogInformation("Model set {Version} active", version);
    }

    /// <summary>
    /// The gate's evaluation: both sets' answers on each image (null for an image that cannot be decoded). The
    /// candidate is loaded beside the active set if it is not already. The networks run under the same lock as the
    /// batch loop (a set is not thread-safe), so callers send a few dozen images at a time and classification waits
    /// at most one such call.
    /// </summary>
    public virtual async Task<IReadOnlyList<GateAnswers?>> AnswerForGateAsync(ModelSetInfo active, ModelSetInfo candidate, IReadOnlyList<byte[]> images)
    {
        await PrepareAsync(active);
        await PrepareAsync(candidate);
        return await Task.Run(() =>
        {
            var decoded = new (IReadOnlyDictionary<int, float[]> Active, IReadOnlyDictionary<int, float[]> Candidate)?[images.Count];
            EnsembleModelSet activeSet, candidateSet;
            lock (_modelGate)
            {
                activeSet = Loaded(active.Version);
                candidateSet = Loaded(candidate.Version);
            }
            // Decoding and preprocessing only read the sets' input sizes: no lock needed.
            Parallel.For(0, images.Count, i =>
            {
                try
                {
                    using var image = ParticleImageDecoder.Load(new MemoryStream(images[i], writable: false), $"reviewed particle {i}");
                    decoded[i] = (activeSet.Preprocess(image), candidateSet.Preprocess(image));
                }
                catch (ParticleImageException) { decoded[i] = null; }
            });
            var good = Enumerable.Range(0, images.Count).Where(i => decoded[i] is not null).ToList();
            var answers = new GateAnswers?[images.Count];
            if (good.Count == 0) return answers;
            lock (_modelGate)
            {
                using var step = NativeSteps.Begin($"evaluating model set {candidate.Version} beside {active.Version} for the gate");
                var activeAnswers = Answer(Loaded(active.Version), [.. good.Select(i => decoded[i]!.Value.Active)]);
                var candidateAnswers = Answer(Loaded(candidate.Version), [.. good.Select(i => decoded[i]!.Value.Candidate)]);
                for (int k = 0; k < good.Count; k++) answers[good[k]] = new GateAnswers(activeAnswers[k], candidateAnswers[k]);
            }
            return answers;
        });
    }

    /// <summary>A loaded set by version (active or prepared); the caller holds <see cref="_modelGate"/>.</summary>
    private EnsembleModelSet Loaded(string version) =>
        _active?.Version == version ? _active
        : _prepared.TryGetValue(version, out var set) ? set
        : throw new ModelSetRefusedException($"model set {version} was unloaded on this worker while the gate evaluated it; try again");

    /// <summary>One set's answers as the vote gives them: the voted class, the combined probabilities, and unknown or not.</summary>
    private List<Domain.GatedAnswer> Answer(EnsembleModelSet set, IReadOnlyList<IReadOnlyDictionary<int, float[]>> planes)
    {
        var outputs = set.Run(planes);
        return [.. Enumerable.Range(0, planes.Count).Select(i =>
        {
            var decision = _voter.Decide([.. outputs.Probabilities.Select(model => (IReadOnlyList<float>)model[i])]);
            return new Domain.GatedAnswer(decision.ClassIndex, [.. decision.Probabilities.Select(p => (float)p)],
                OutOfScopeVote.IsUnknown(OutOfScopeVote.Combine(outputs.RatiosOf(i))));
        })];
    }

    /// <summary>Classifies a run's particles: unreadable images fail on their own, the rest go through the batcher.</summary>
    /// <exception cref="NoModelSetException">No set is active.</exception>
    /// <exception cref="WorkerBusyException">The queue is full; nothing was taken.</exception>
    public virtual async Task<IReadOnlyList<ParticleVerdict>> ClassifyAsync(ClassificationRequest request)
    {
        // A silo on its way out takes nothing new: callers go on to another worker.
        if (_draining) throw Busy(new BatcherFullException(_batcher.Queued, _batcher.Capacity, request.Particles.Count, 50));
        var sizes = ActiveSizes() ?? throw new NoModelSetException("no model set is active on this worker; register and activate one");
        if (_batcher.Queued + request.Particles.Count > _batcher.Capacity)
        {
            throw Busy(new BatcherFullException(_batcher.Queued, _batcher.Capacity, request.Particles.Count, 100));
        }

        var decoded = await Task.Run(() => Decode(request, sizes));
        var good = decoded.Where(d => d.Prepared is not null).ToList();
        IReadOnlyList<EnsembleResult> results;
        try
        {
            results = await _batcher.EnqueueAsync(request.RunId, [.. good.Select(d => d.Prepared!)]);
        }
        catch (BatcherFullException e)
        {
            throw Busy(e);
        }

        var byIndex = good.Zip(results).ToDictionary(p => p.First.Index, p => p.Second);
        return [.. decoded.Select(d => byIndex.TryGetValue(d.Index, out var result)
            ? Verdict(request.Particles[d.Index], d.Sha256, result) with { MeasuredEcdMicrometres = d.Measured.Ecd, MeasuredShape = d.Measured.Shape }
            : Failed(request.Particles[d.Index], d.Sha256, d.Error!))];
    }

    private WorkerBusyException Busy(BatcherFullException e)
    {
        Interlocked.Increment(ref _refused);
        return new WorkerBusyException(e.Message, e.RetryAfterMs);
    }

    private long _refused;
    private volatile bool _draining;

    /// <summary>
    /// Before the silo leaves: refuse new requests (callers retry elsewhere) and wait until what is queued has been
    /// classified and answered, or <paramref name="limit"/> has passed.
    /// </summary>
    public async Task DrainAsync(TimeSpan limit)
    {
        _draining = true;
        var deadline = DateTime.UtcNow + limit;
        while (_batcher.Queued > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        _logger.LogInformation("Worker drained: {Queued} particles left in the queue", _batcher.Queued);
    }

    /// <summary>Requests answered with "retry after" because the queue was full.</summary>
    public long RefusedRequests => Interlocked.Read(ref _refused);

    private IReadOnlyList<int>? ActiveSizes()
    {
        lock (_modelGate) return _active?.InputSizes;
    }

    /// <summary>What the mask of a particle's image says: ECD (when the calibration is known) and shape.</summary>
    private readonly record struct Measured(double? Ecd, ParticleShape? Shape);

    /// <summary>Decodes, measures and preprocesses every particle in parallel (thread pool, not a grain thread).</summary>
    private static List<(int Index, string Sha256, PreparedParticle? Prepared, string? Error, Measured Measured)> Decode(ClassificationRequest request, IReadOnlyList<int> sizes)
    {
        var decoded = new (int, string, PreparedParticle?, string?, Measured)[request.Particles.Count];
        Parallel.For(0, request.Particles.Count, i =>
        {
            var particle = request.Particles[i];
            string sha = ImageHash.Of(particle.Image);
            string name = $"run {request.RunId} particle {particle.ParticleId}";
            try
            {
                using var image = ParticleImageDecoder.Load(new MemoryStream(particle.Image, writable: false), name);
                var planes = sizes.ToDictionary(size => size, size => ParticlePreprocessor.ToPlanes(image, size));
                decoded[i] = (i, sha, new PreparedParticle(planes, particle.Image, name), null, Measure(image, particle.MicrometresPerPixel ?? request.MicrometresPerPixel));
            }
            catch (ParticleImageException e)
            {
                decoded[i] = (i, sha, null, e.Message, default);
            }
        });
        return [.. decoded];
    }

    /// <summary>
    /// Segments the particle; without a calibration only the unitless measures (aspect ratio, circularity,
    /// intensity) are known. An empty frame gives nothing.
    /// </summary>
    private static Measured Measure(SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> image, double? micrometresPerPixel)
    {
        var mask = ParticleMorphology.Measure(image, micrometresPerPixel ?? 1.0);
        if (mask is null) return default;
        bool calibrated = micrometresPerPixel is not null;
        return new Measured(calibrated ? mask.EcdMicrometres : null,
            new ParticleShape(calibrated ? mask.AreaSquareMicrometres : null, mask.AspectRatio, mask.Circularity, mask.MeanIntensity));
    }

    /// <summary>One batch through every network of the active set, then the vote (the batcher's thread).</summary>
    private IReadOnlyList<EnsembleResult> RunBatch(IReadOnlyList<PreparedParticle> batch)
    {
        lock (_modelGate)
        {
            var set = _active ?? throw new NoModelSetException("no model set is active on this worker");
            using var step = NativeSteps.Begin($"classifying particles with model set {set.Version} ({Engine} on {_deviceName})");
            // A set activated after these particles were decoded may want another input size: preprocess again.
            var planes = batch.Select(p => set.InputSizes.All(p.Planes.ContainsKey) ? p.Planes : Redecode(p, set)).ToList();
            var outputs = set.Run(planes, (network, took) => _metrics.NetworkRan(network, _deviceName, Engine, took));
            return [.. Enumerable.Range(0, batch.Count).Select(i =>
            {
                var rows = outputs.Probabilities.Select(model => model[i]).ToList();
                return new EnsembleResult(_voter.Decide([.. rows.Select(r => (IReadOnlyList<float>)r)]), rows, outputs.RatiosOf(i), set);
            })];
        }
    }

    private static IReadOnlyDictionary<int, float[]> Redecode(PreparedParticle particle, EnsembleModelSet set)
    {
        using var image = ParticleImageDecoder.Load(new MemoryStream(particle.Image, writable: false), particle.Name);
        return set.Preprocess(image);
    }

    private static ParticleVerdict Verdict(ParticleImage particle, string sha256, EnsembleResult result)
    {
        var set = result.Set;
        var decision = result.Decision;
        var votes = set.Members.Select((member, m) => new ModelVote(member.Name, member.Manifest.Version, result.PerModel[m],
            set.Classes[ClassificationReport.ArgMax(result.PerModel[m])], result.OutOfScopeRatios[m])).ToList();
        // Unlike anything the networks learned: its own type, never one of theirs, and queued for review.
        double? outOfScope = OutOfScopeVote.Combine(result.OutOfScopeRatios);
        if (OutOfScopeVote.IsUnknown(outOfScope))
            return new ParticleVerdict(particle.ParticleId, sha256, ParticleTypes.FolderName(ParticleType.Unknown), decision.Probability,
                true, UnknownReason, set.Version, votes, null, OutOfScopeRatio: outOfScope);
        string? reason = decision.Reason switch
        {
            UncertainReason.BelowThreshold => "below_threshold",
            UncertainReason.Disagreement => "disagreement",
            _ => null,
        };
        return new ParticleVerdict(particle.ParticleId, sha256, set.Classes[decision.ClassIndex], decision.Probability,
            decision.IsUncertain, reason, set.Version, votes, null, OutOfScopeRatio: outOfScope);
    }

    /// <summary>The uncertain reason of an unknown particle: its out-of-scope score is past the threshold.</summary>
    public const string UnknownReason = "out_of_scope";

    private static ParticleVerdict Failed(ParticleImage particle, string sha256, string error) =>
        new(particle.ParticleId, sha256, null, null, false, null, null, [], error);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    // Registered both as itself and as the silo's IWorkerRuntime, so the container disposes it twice: the engines
    // hold native memory and must be freed once.
    private int _disposed;

    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _batcher.Dispose();
        lock (_modelGate)
        {
            _active?.Dispose();
            foreach (var set in _prepared.Values) set.Dispose();
            _prepared.Clear();
            _active = null;
        }
    }
}
