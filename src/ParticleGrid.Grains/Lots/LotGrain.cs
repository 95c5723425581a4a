using ParticleGrid.Abstractions;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Grains.Lots;

/// <summary>
/// A product lot. Holds nothing of its own: the description and the aggregates of every particle are in the store, so
/// the profile is always read from the truth, whichever silo reads it, through the one read path for lots
/// (<see cref="LotReads"/>, as the QA API and <c>particlegrid lot</c> read it) and judged by the store's verdict settings.
/// </summary>
[GatewaySiloPlacement]
public sealed class LotGrain(IParticleStore store, LotReads reads) : Grain, ILotGrain
{
    private string LotId => this.GetPrimaryKeyString();

    public async Task Describe(LotDescriptor descriptor)
    {
        if (!Identifiers.IsValid(LotId)) throw new ArgumentException($"lot id '{LotId}' is not valid: {Identifiers.Rule}");
        if (descriptor.Problem() is { } problem) throw new ArgumentException($"lot {LotId}: {problem}");
        try
        {
            // The store decides (LotDescriptionRule): values set once change only by an admin's audited change.
            await store.SaveLotAsync(new LotRecord(LotId, descriptor.ContainerVolumeMl, descriptor.Product));
        }
        catch (LotDescriptionLockedException e)
        {
            throw new LotChangeRefusedException(e.Message);
        }
    }

    public Task<LotProfile?> GetProfile() => reads.ProfileAsync(LotId);
}
