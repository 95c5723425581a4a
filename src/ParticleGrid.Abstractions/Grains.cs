using Orleans.Concurrency;
using ParticleGrid.Domain;

// Every grain interface of the cluster, so what a client (gateway, instrument, CLI) can call reads in one place;
// the records they take and return are in Runs.cs, ModelSets.cs and Workers.cs, the exceptions in Exceptions.cs.

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

    /// <summary>Classifies and records a batch; returns when every particle of it is recorded (classified, or failed for its content).</summary>
    /// <exception cref="InvalidOperationException">The run was not started.</exception>
    /// <exception cref="RunPausedException">No worker could classify, or the store could not be used: nothing was recorded; send it again.</exception>
    /// <remarks>Batches of one run interleave, so an instrument can have several in flight.</remarks>
    [AlwaysInterleave]
    Task<BatchReceipt> SubmitBatch(string batchId, IReadOnlyList<ParticleImage> particles);

    /// <summary>Which of these particle ids the run has not recorded yet: what a resumed upload still has to send.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> Unrecorded(IReadOnlyList<string> particleIds);

    /// <summary>
    /// Removes the run's particles that were recorded as failed for an infrastructure cause (no worker, worker errors)
    /// before outages paused runs, so that they are sent again; content failures stay. Returns the ids removed.
    /// </summary>
    Task<IReadOnlyList<string>> RetryInfrastructureFailures();

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

/// <summary>
/// The site's model registry (one, keyed "site"): the versioned model sets and which one is active. Activating a
/// set prepares it on every worker before any worker switches, so classification never stops.
/// </summary>
public interface IModelRegistryGrain : IGrainWithStringKey
{
    /// <summary>Registers the models in these folders (each written by <c>train</c>) as a set; the same set again gives the same version.</summary>
    /// <exception cref="ModelSetRefusedException">A folder is not a model, or the networks' classes differ.</exception>
    Task<ModelSetInfo> Register(IReadOnlyList<string> modelDirectories);

    /// <summary>
    /// Makes a registered set the active one on every worker, once the gate has let it through: a worker runs it beside
    /// the active set on the site's reviewed particles, and a set worse by more than the margin, or judged on too few
    /// reviewed particles, is refused. The first set of a site is not gated (there is nothing to compare it with).
    /// </summary>
    /// <exception cref="ModelSetRefusedException">The gate refused it (the message carries the comparison), or a worker could not load it.</exception>
    Task<ModelSetInfo> Activate(string version);

    /// <summary>
    /// Activates the set even if the gate refuses it: an admin's decision, recorded with who, why and the gate's
    /// report in the registry's audit list (<see cref="GetGateAudit"/>). The gate still runs, so the record says what was overridden.
    /// </summary>
    Task<ModelSetInfo> ActivateOverridingGate(string version, string admin, string reason);

    /// <summary>Runs the gate for a registered set without activating it, and stores the report with the set.</summary>
    Task<ModelSetGateReport> EvaluateGate(string version);

    /// <summary>The set's last gate report, or null when it has never been gated.</summary>
    [AlwaysInterleave]
    Task<ModelSetGateReport?> GetGate(string version);

    /// <summary>Every override of the gate, oldest first.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<GateOverride>> GetGateAudit();

    /// <remarks>
    /// Interleaves with <see cref="Activate"/>: a worker activated by the activation itself asks for the active set,
    /// and must get an answer (the one active until the switch) rather than wait on the activation that waits on it.
    /// </remarks>
    [AlwaysInterleave]
    Task<ModelSetInfo?> GetActive();

    [AlwaysInterleave]
    Task<IReadOnlyList<ModelSetInfo>> List();
}

/// <summary>Keys of the singleton grains.</summary>
public static class ModelRegistryKeys
{
    /// <summary>The one model registry of a site.</summary>
    public const string Site = "site";
}

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
