using Orleans.Concurrency;

namespace ParticleGrid.Abstractions;

/// <summary>One network of a registered model set.</summary>
[GenerateSerializer, Immutable]
public sealed record ModelSetMemberInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] string Architecture,
    [property: Id(2)] string Version,
    [property: Id(3)] string Directory,
    [property: Id(4)] int InputSize);

/// <summary>A versioned model set: the networks that vote together, their classes, and when it was registered.</summary>
[GenerateSerializer, Immutable]
public sealed record ModelSetInfo(
    [property: Id(0)] string Version,
    [property: Id(1)] IReadOnlyList<string> Classes,
    [property: Id(2)] IReadOnlyList<ModelSetMemberInfo> Members,
    [property: Id(3)] DateTimeOffset RegisteredUtc);

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

/// <summary>The gate's report on a set: how it compared with the set active then, and when.</summary>
/// <param name="Override">Set when an admin activated it over the gate's refusal.</param>
[GenerateSerializer, Immutable]
public sealed record ModelSetGateReport(
    [property: Id(0)] string Version,
    [property: Id(1)] Domain.ModelSetComparison Comparison,
    [property: Id(2)] DateTimeOffset EvaluatedUtc,
    [property: Id(3)] GateOverride? Override = null);

/// <summary>An admin activated a set the gate refused: who, when, why, and what the gate said.</summary>
[GenerateSerializer, Immutable]
public sealed record GateOverride(
    [property: Id(0)] string Version,
    [property: Id(1)] string Admin,
    [property: Id(2)] string Reason,
    [property: Id(3)] DateTimeOffset AtUtc,
    [property: Id(4)] Domain.GateDecision Decision,
    [property: Id(5)] string GateSummary);

/// <summary>Keys of the singleton grains.</summary>
public static class ModelRegistryKeys
{
    /// <summary>The one model registry of a site.</summary>
    public const string Site = "site";
}
