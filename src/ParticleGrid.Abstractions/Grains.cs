using Orleans.Concurrency;
using ParticleGrid.Domain;

namespace ParticleGrid.Abstractions;

/// <summary>
/// One instrument run (keyed by run id). Particles arrive in batches; each is classified by the ensemble on a
/// worker silo and recorded once, keyed by (run, particle), so a replayed batch changes nothing.
/// </summary>
public interface IInstrumentRunGrain : IGrainWithStringKey
{
    /// <summary>Starts the run, or confirms it when it was started with the same descriptor.</summary>
    /// <exception cref="ArgumentException">The descriptor is invalid or differs from the one the run was started with.</exception>
    Task<RunStatus> Start(RunDescriptor descriptor);

    /// <summary>Classifies and records a batch; returns when every particle of it is recorded (classified or failed).</summary>
    /// <exception cref="InvalidOperationException">The run was not started.</exception>
    /// <remarks>Batches of one run interleave, so an instrument can have several in flight.</remarks>
    [AlwaysInterleave]
    Task<BatchReceipt> SubmitBatch(string batchId, IReadOnlyList<ParticleImage> particles);

    /// <summary>Which of these particle ids the run has not recorded yet: what a resumed upload still has to send.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> Unrecorded(IReadOnlyList<string> particleIds);

    /// <summary>Notes items of the run's export that were refused (by source, so a resumed upload counts each once).</summary>
    /// <returns>How many were new.</returns>
    Task<int> ReportRejections(IReadOnlyList<RejectedItem> items);

    /// <summary>Marks the run complete: the instrument sent everything.</summary>
    Task<RunStatus> Complete();

    [AlwaysInterleave]
    Task<RunStatus> GetStatus();
}

/// <summary>A product lot (keyed by lot id): its description and its particle profile across runs.</summary>
public interface ILotGrain : IGrainWithStringKey
{
    Task Describe(LotDescriptor descriptor);

    /// <summary>The profile, computed from the store; null when nothing is known of this lot.</summary>
    Task<LotProfile?> GetProfile();
}
