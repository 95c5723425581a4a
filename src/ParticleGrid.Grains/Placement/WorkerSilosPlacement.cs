using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace ParticleGrid.Grains.Placement;

/// <summary>
/// Placement for a grain that belongs to one worker silo: its key is that silo's address, and it is activated there
/// and nowhere else. Orleans' built-in metadata filters compare silos with the calling silo, which cannot say
/// "a worker, whoever calls", hence this strategy.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class WorkerSiloPlacement : PlacementStrategy
{
    internal static WorkerSiloPlacement Singleton { get; } = new();
}

/// <summary>Places the grain on the worker silo its key names (see <see cref="WorkerSiloPlacement"/>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class WorkerSiloPlacementAttribute() : PlacementAttribute(WorkerSiloPlacement.Singleton);

/// <summary>Refuses any silo but the worker the grain's key names; a gone or non-worker silo is an error the caller sees.</summary>
public sealed class WorkerSiloPlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
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
        if (!context.GetCompatibleSilos(target).Contains(wanted))
        {
            throw new OrleansException($"worker silo {key} is not in the cluster (stopped or not yet joined)");
        }
        if (!SiloRoles.IsWorker(metadata.GetSiloMetadata(wanted)))
        {
            throw new OrleansException($"silo {key} is not a worker silo; the networks run only on silos with the '{SiloRoles.Worker}' role");
        }
        return Task.FromResult(wanted);
    }
}
