using ParticleGrid.Abstractions;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Grains.Lots;

/// <summary>
/// A product lot. Holds nothing of its own: the description and every particle are in the store, so the profile
/// is always rebuilt from the truth, whichever silo computes it, and judged by the site's verdict settings.
/// </summary>
[GatewaySiloPlacement]
public sealed class LotGrain(IParticleStore store, VerdictPolicy verdictPolicy) : Grain, ILotGrain
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

    public Task<LotProfile?> GetProfile() => LotProfileQuery.ComputeAsync(store, LotId, verdictPolicy);
}
