using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace ParticleGrid.Grains.Placement;

/// <summary>
/// What a silo does, as it advertises in its silo metadata: "gateway" silos hold runs and lots and serve HTTP,
/// "worker" silos hold the networks. The embedded default is one silo with both.
/// </summary>
public static class SiloRoles
{
    /// <summary>Metadata key: the silo's roles, comma-separated ("gateway", "worker", "gateway,worker").</summary>
    public const string RolesKey = "particlegrid.roles";

    /// <summary>Metadata key: what a worker computes on ("cpu", or "cuda:0,cuda:1").</summary>
    public const string DevicesKey = "particlegrid.devices";

    public const string Gateway = "gateway";
    public const string Worker = "worker";

    public static bool IsWorker(SiloMetadata metadata) => Has(metadata, Worker);

    public static bool IsGateway(SiloMetadata metadata) => Has(metadata, Gateway);

    /// <summary>Whether the silo advertises <paramref name="role"/> among its roles.</summary>
    public static bool Has(SiloMetadata metadata, string role) =>
        metadata.Metadata.TryGetValue(RolesKey, out var roles) && roles.Split(',', StringSplitOptions.TrimEntries).Contains(role);
}

/// <summary>The worker silos the cluster has now, as every silo sees them (membership plus silo metadata).</summary>
public sealed class WorkerSilos(IClusterMembershipService membership, ISiloMetadataCache metadata)
{
    /// <summary>Active worker silos, in a stable order.</summary>
    public IReadOnlyList<SiloAddress> Active() =>
        [.. membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && SiloRoles.IsWorker(metadata.GetSiloMetadata(m.SiloAddress)))
            .Select(m => m.SiloAddress)
            .OrderBy(s => s.ToParsableString(), StringComparer.Ordinal)];

    /// <summary>The worker grain's key for a worker silo.</summary>
    public static string KeyOf(SiloAddress silo) => silo.ToParsableString();

    /// <summary>What a worker silo advertises it computes on.</summary>
    public string DevicesOf(SiloAddress silo) =>
        metadata.GetSiloMetadata(silo).Metadata.GetValueOrDefault(SiloRoles.DevicesKey) ?? "unknown";
}
