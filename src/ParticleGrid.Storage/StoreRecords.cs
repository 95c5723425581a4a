using ParticleGrid.Domain;

namespace ParticleGrid.Storage;

/// <summary>One network's opinion on one particle, as the store keeps it.</summary>
/// <param name="Model">The network's name in its model set ("resnet50").</param>
/// <param name="Version">The model's version (architecture@weights-sha).</param>
/// <param name="Probabilities">Softmax probabilities in the model set's class order.</param>
/// <param name="Vote">The class the network alone would pick (folder name).</param>
public sealed record ModelVote(string Model, string Version, IReadOnlyList<float> Probabilities, string Vote);

/// <summary>
/// One particle's result with its lineage: which instrument, run and lot it came from, which image (by hash), what
/// every network said, the ensemble's vote and the model set that made it. Keyed by (run, particle); never updated.
/// </summary>
/// <param name="Type">The ensemble's vote (folder name); null when <paramref name="Failure"/> is set.</param>
/// <param name="Probability">The winning class's combined probability.</param>
/// <param name="UncertainReason">"below_threshold", "disagreement", or null when confident.</param>
/// <param name="Failure">Why the particle could not be classified (corrupt image, workers failing); null on success.</param>
/// <param name="SizeSource">Where <paramref name="EcdMicrometres"/> came from: "instrument" (its list), "image" (the mask), or null.</param>
/// <param name="AreaSquareMicrometres">Area, from the instrument or the mask (likewise the next three).</param>
public sealed record ParticleRecord(
    string RunId,
    string ParticleId,
    string LotId,
    string InstrumentId,
    string ImageSha256,
    double? EcdMicrometres,
    string? Type,
    double? Probability,
    bool IsUncertain,
    string? UncertainReason,
    string? ModelSetVersion,
    IReadOnlyList<ModelVote> Votes,
    string? Failure,
    DateTimeOffset RecordedUtc,
    string? SizeSource = null,
    double? AreaSquareMicrometres = null,
    double? AspectRatio = null,
    double? Circularity = null,
    double? MeanIntensity = null)
{
    public bool IsFailed => Failure is not null;

    /// <summary>The particle as a lot profile counts it.</summary>
    public CountedParticle ToCounted() =>
        new(Type is not null && ParticleTypes.TryParse(Type, out var t) ? t : null, EcdMicrometres, IsUncertain);
}

/// <summary>An instrument run: where its particles come from and how much sample it analysed.</summary>
public sealed record RunRecord(string RunId, string LotId, string InstrumentId, double? AnalysedVolumeMl, int? ExpectedParticles, DateTimeOffset StartedUtc);

/// <summary>A lot: the product batch QA judges; the container volume turns per-mL counts into per-container ones.</summary>
public sealed record LotRecord(string LotId, double? ContainerVolumeMl, string? Product);

/// <summary>A run's counts as the store sees them.</summary>
public sealed record RunCounts(int Recorded, int Classified, int Uncertain, int Failed);

/// <summary>Two writers disagree about something the store keeps once (a run moved to another lot, say).</summary>
public sealed class StoreConflictException(string message) : Exception(message);
