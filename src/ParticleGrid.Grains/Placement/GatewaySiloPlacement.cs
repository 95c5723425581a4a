using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace ParticleGrid.Grains.Placement;

/// <summary>Placement for runs, lots and the registry: any silo with the gateway role, never a worker-only one.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class GatewaySiloPlacement : PlacementStrategy
{
    internal static GatewaySiloPlacement Singleton { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class GatewaySiloPlacementAttribute() : PlacementAttribute(GatewaySiloPlacement.Singleton);

/// <summary>Picks a gateway silo: the calling silo when it is one (no hop), else one at random.</summary>
public sealed class GatewaySiloPlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var gateways = context.GetCompatibleSilos(target).Where(s => SiloRoles.IsGateway(metadata.GetSiloMetadata(s))).ToArray();
        if (gateways.Length == 0)
        {
            throw new OrleansException($"no gateway silo is in the cluster to hold {target.GrainIdentity}; start a silo with the '{SiloRoles.Gateway}' role");
        }
        return Task.FromResult(gateways.Contains(context.LocalSilo) ? context.LocalSilo : gateways[Random.Shared.Next(gateways.Length)]);
    }
}
