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
    [property: Id(0)] GatedAnswer Active,
    [property: Id(1)] GatedAnswer Candidate);

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
