using ParticleGrid.Abstractions;

namespace ParticleGrid.Ingestion;

/// <summary>
/// Where an upload sends one run: its grain (through an Orleans client, or the CLI's in-process host) or a site's HTTP
/// ingest endpoint. The uploader asks both the same questions, so an upload resumes and reports the same way over either.
/// </summary>
public interface IRunTarget
{
    /// <param name="containerVolumeMl">When given, the run's lot is described with it first.</param>
    Task<RunStatus> Start(RunDescriptor run, double? containerVolumeMl);

    Task ReportRejections(IReadOnlyList<RejectedItem> items);

    /// <summary>Which of these the run has not recorded yet: what a resumed upload still has to send.</summary>
    Task<IReadOnlyList<string>> Unrecorded(IReadOnlyList<string> particleIds);

    Task<BatchReceipt> SubmitBatch(string batchId, IReadOnlyList<ParticleImage> particles);

    Task<RunStatus> Complete();

    /// <summary>Removes the run's particles an outage recorded as failed (before outages paused runs), to be sent again; their ids.</summary>
    Task<IReadOnlyList<string>> RetryInfrastructureFailures();
}

/// <summary>A connection to a site that runs can be sent to: its gateways (<see cref="ClusterConnection"/>) or its HTTP API.</summary>
public interface ISiteConnection : IAsyncDisposable
{
    /// <summary>Said to the user: "... into {Description}".</summary>
    string Description { get; }

    IRunTarget Run(string runId);
}

/// <summary>A run's grain, called through whatever grain factory the connection has.</summary>
public sealed class GrainRunTarget(IGrainFactory grains, string runId) : IRunTarget
{
    private readonly IInstrumentRunGrain _run = grains.GetGrain<IInstrumentRunGrain>(runId);

    public async Task<RunStatus> Start(RunDescriptor run, double? containerVolumeMl)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (containerVolumeMl is not null) await grains.GetGrain<ILotGrain>(run.LotId).Describe(new LotDescriptor(containerVolumeMl));
        return await _run.Start(run);
    }

    public Task ReportRejections(IReadOnlyList<RejectedItem> items) => _run.ReportRejections(items);

    public Task<IReadOnlyList<string>> Unrecorded(IReadOnlyList<string> particleIds) => _run.Unrecorded(particleIds);

    public Task<BatchReceipt> SubmitBatch(string batchId, IReadOnlyList<ParticleImage> particles) => _run.SubmitBatch(batchId, particles);

    public Task<RunStatus> Complete() => _run.Complete();

    public Task<IReadOnlyList<string>> RetryInfrastructureFailures() => _run.RetryInfrastructureFailures();
}
