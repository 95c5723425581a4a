using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace ParticleGrid.Grains.Placement;

// Placement by silo role (SiloRoles): runs, lots and the registry live on gateway silos, a worker's grain on its own
// worker silo. Orleans' built-in metadata filters compare silos with the calling silo, which cannot say "a gateway"
// or "a worker, whoever calls", hence these two strategies and one director base that filters by role.

/// <summary>Placement for runs, lots and the registry: any silo with the gateway role, never a worker-only one.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class GatewaySiloPlacement : PlacementStrategy
{
    internal static GatewaySiloPlacement Singleton { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class GatewaySiloPlacementAttribute() : PlacementAttribute(GatewaySiloPlacement.Singleton);

/// <summary>
/// Placement for a grain that belongs to one worker silo: its key is that silo's address, and it is activated there
/// and nowhere else.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class WorkerSiloPlacement : PlacementStrategy
{
    internal static WorkerSiloPlacement Singleton { get; } = new();
}

/// <summary>Places the grain on the worker silo its key names (see <see cref="WorkerSiloPlacement"/>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class WorkerSiloPlacementAttribute() : PlacementAttribute(WorkerSiloPlacement.Singleton);

/// <summary>The filter both directors share: of the silos Orleans offers for the grain, those that advertise the role.</summary>
public abstract class SiloRolePlacementDirector(ISiloMetadataCache metadata, string role) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        SiloAddress[] compatible = context.GetCompatibleSilos(target);
        SiloAddress[] withRole = [.. compatible.Where(silo => SiloRoles.Has(metadata.GetSiloMetadata(silo), role))];
        return Task.FromResult(Choose(withRole, compatible, target, context));
    }

    /// <summary>One of <paramref name="withRole"/>, or an <see cref="OrleansException"/> that says why there is none.</summary>
    /// <param name="compatible">Every silo Orleans offered, with the role or not (for saying why a silo was refused).</param>
    protected abstract SiloAddress Choose(SiloAddress[] withRole, SiloAddress[] compatible, PlacementTarget target, IPlacementContext context);
}

/// <summary>Picks a gateway silo: the calling silo when it is one (no hop), else one at random.</summary>
public sealed class GatewaySiloPlacementDirector(ISiloMetadataCache metadata) : SiloRolePlacementDirector(metadata, SiloRoles.Gateway)
{
    protected override SiloAddress Choose(SiloAddress[] withRole, SiloAddress[] compatible, PlacementTarget target, IPlacementContext context)
    {
        if (withRole.Length == 0)
        {
            throw new OrleansException($"no gateway silo is in the cluster to hold {target.GrainIdentity}; start a silo with the '{SiloRoles.Gateway}' role");
        }
        return withRole.Contains(context.LocalSilo) ? context.LocalSilo : withRole[Random.Shared.Next(withRole.Length)];
    }
}

/// <summary>Refuses any silo but the worker the grain's key names; a gone or non-worker silo is an error the caller sees.</summary>
public sealed class WorkerSiloPlacementDirector(ISiloMetadataCache metadata) : SiloRolePlacementDirector(metadata, SiloRoles.Worker)
{
    protected override SiloAddress Choose(SiloAddress[] withRole, SiloAddress[] compatible, PlacementTarget target, IPlacementContext context)
    {
        string key = target.GrainIdentity.Key.ToString()!;
        SiloAddress wanted;
        try
        {
            wanted = SiloAddress.FromParsableString(key);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException)
        {
            throw new OrleansException($"'{key}' does not name a silo; a worker grain's key is its silo's address");
        }
        if (!compatible.Contains(wanted))
        {
            throw new OrleansException($"worker silo {key} is not in the cluster (stopped or not yet joined)");
        }
        if (!withRole.Contains(wanted))
        {
            throw new OrleansException($"silo {key} is not a worker silo; the networks run only on silos with the '{SiloRoles.Worker}' role");
        }
        return wanted;
    }
}
