using ParticleGrid.Domain;

namespace ParticleGrid.Abstractions;

/// <summary>Particles of one run for a worker to classify.</summary>
/// <param name="MicrometresPerPixel">The run's calibration, for particles without their own.</param>
[GenerateSerializer, Immutable]
public sealed record ClassificationRequest(
    [property: Id(0)] string RunId,
    [property: Id(1)] string InstrumentId,
    [property: Id(2)] IReadOnlyList<ParticleImage> Particles,
    [property: Id(3)] double? MicrometresPerPixel = null);

/// <summary>The ensemble's result for one particle, or why there is none (<see cref="Failure"/>).</summary>
/// <param name="ImageSha256">The hash of the image bytes as received: the particle's lineage to its image.</param>
/// <param name="Type">The voted class (folder name, e.g. "silicone_oil"); null on failure.</param>
/// <param name="UncertainReason">"below_threshold", "disagreement", or null.</param>
/// <param name="MeasuredEcdMicrometres">ECD measured from the image's mask (null without a calibration or a visible particle).</param>
/// <param name="MeasuredShape">Shape and brightness measured from the image's mask.</param>
/// <param name="OutOfScopeRatio">The ensemble's out-of-scope score over its threshold (1: at it; "unknown" from 1 on); null
/// when the model set has no out-of-scope reference.</param>
[GenerateSerializer, Immutable]
public sealed record ParticleVerdict(
    [property: Id(0)] string ParticleId,
    [property: Id(1)] string ImageSha256,
    [property: Id(2)] string? Type,
    [property: Id(3)] double? Probability,
    [property: Id(4)] bool IsUncertain,
    [property: Id(5)] string? UncertainReason,
    [property: Id(6)] string? ModelSetVersion,
    [property: Id(7)] IReadOnlyList<ModelVote> Votes,
    [property: Id(8)] string? Failure,
    [property: Id(9)] double? MeasuredEcdMicrometres = null,
    [property: Id(10)] ParticleShape? MeasuredShape = null,
    [property: Id(11)] double? OutOfScopeRatio = null);

/// <summary>What the active set and the candidate said about one reviewed particle's image.</summary>
[GenerateSerializer, Immutable]
public sealed record GateAnswers(
    [property: Id(0)] Domain.GatedAnswer Active,
    [property: Id(1)] Domain.GatedAnswer Candidate);

/// <summary>What a worker silo computes on and what it holds.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerInfo(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Device,
    [property: Id(2)] string? ActiveModelSet,
    [property: Id(3)] int QueuedParticles,
    [property: Id(4)] int QueueCapacity,
    [property: Id(5)] long ClassifiedParticles,
    [property: Id(6)] long Batches,
    [property: Id(7)] long RefusedRequests,
    [property: Id(8)] string Engine = "");

/// <summary>
/// The ensemble on one worker silo (keyed by that silo's address; placed there and nowhere else). Its silo's
/// batcher mixes the particles of every run that calls it into batches.
/// </summary>
public interface IEnsembleWorkerGrain : IGrainWithStringKey
{
    /// <summary>Classifies the particles; bad images come back as failed verdicts, the rest as votes.</summary>
    /// <exception cref="WorkerBusyException">The worker's queue is full: call again after the time it names.</exception>
    /// <exception cref="NoModelSetException">No model set is active on the worker.</exception>
    Task<IReadOnlyList<ParticleVerdict>> Classify(ClassificationRequest request);

    /// <summary>Loads (and warms) a model set beside the active one; the active one keeps serving.</summary>
    Task Prepare(ModelSetInfo set);

    /// <summary>
    /// The gate's evaluation: runs both sets (the candidate loaded beside the active one, as activation does) on each
    /// image and gives both answers; null for an image that cannot be decoded. Lives on workers because gateways
    /// need not hold the networks.
    /// </summary>
    Task<IReadOnlyList<GateAnswers?>> AnswerForGate(ModelSetInfo active, ModelSetInfo candidate, IReadOnlyList<byte[]> images);

    /// <summary>Switches to a prepared set and unloads the previous one.</summary>
    Task Activate(string version);

    Task<WorkerInfo> GetInfo();
}

/// <summary>A worker's queue is full. Nothing of the request was taken; send it again after <see cref="RetryAfterMs"/>.</summary>
[GenerateSerializer]
public sealed class WorkerBusyException : Exception
{
    public WorkerBusyException() { }

    public WorkerBusyException(string message, int retryAfterMs) : base(message) => RetryAfterMs = retryAfterMs;

    [Id(0)] public int RetryAfterMs { get; init; }
}

/// <summary>No model set is active, so nothing can be classified. Register and activate one first.</summary>
[GenerateSerializer]
public sealed class NoModelSetException : Exception
{
    public NoModelSetException() { }
    public NoModelSetException(string message) : base(message) { }
}

/// <summary>A model set was refused (the networks' classes differ, a folder is not a model...).</summary>
[GenerateSerializer]
public sealed class ModelSetRefusedException : Exception
{
    public ModelSetRefusedException() { }
    public ModelSetRefusedException(string message) : base(message) { }
}
