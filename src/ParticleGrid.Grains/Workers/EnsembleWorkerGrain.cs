using Orleans.Concurrency;
using Orleans.Runtime;
using ParticleGrid.Abstractions;
using ParticleGrid.Grains.Placement;

namespace ParticleGrid.Grains.Workers;

/// <summary>
/// The ensemble on one worker silo, a thin adapter over the <see cref="IWorkerRuntime"/> its host registered: keyed by
/// the silo's address and placed only there. Reentrant, so requests of
/// many runs wait in the silo's batcher together and are mixed into batches. On activation it loads the site's
/// active model set, so a worker that joins late serves the same set as the others.
/// </summary>
[Reentrant, WorkerSiloPlacement]
public sealed class EnsembleWorkerGrain(IWorkerRuntime ensemble, ILocalSiloDetails silo) : Grain, IEnsembleWorkerGrain
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (this.GetPrimaryKeyString() != WorkerSilos.KeyOf(silo.SiloAddress))
        {
            throw new InvalidOperationException($"worker grain {this.GetPrimaryKeyString()} was placed on {silo.SiloAddress}; it belongs on the silo its key names");
        }
        if (!ensemble.IsReady)
        {
            var active = await GrainFactory.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).GetActive();
            if (active is not null)
            {
                await ensemble.PrepareAsync(active);
                ensemble.Activate(active.Version);
            }
        }
    }

    public Task<IReadOnlyList<ParticleVerdict>> Classify(ClassificationRequest request) => ensemble.ClassifyAsync(request);

    public Task Prepare(ModelSetInfo set) => ensemble.PrepareAsync(set);

    public Task<IReadOnlyList<GateAnswers?>> AnswerForGate(ModelSetInfo active, ModelSetInfo candidate, IReadOnlyList<byte[]> images) =>
        ensemble.AnswerForGateAsync(active, candidate, images);

    public Task Activate(string version)
    {
        ensemble.Activate(version);
        return Task.CompletedTask;
    }

    public Task<WorkerInfo> GetInfo() => Task.FromResult(new WorkerInfo(
        silo.SiloAddress.ToParsableString(), ensemble.DeviceDescription, ensemble.ActiveVersion,
        ensemble.Queued, ensemble.Capacity, ensemble.ClassifiedParticles, ensemble.Batches, ensemble.RefusedRequests, ensemble.Engine));
}
