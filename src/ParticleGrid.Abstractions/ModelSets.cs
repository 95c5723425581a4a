using ParticleGrid.Domain;

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

/// <summary>The gate's report on a set: how it compared with the set active then, and when.</summary>
/// <param name="Override">Set when an admin activated it over the gate's refusal.</param>
[GenerateSerializer, Immutable]
public sealed record ModelSetGateReport(
    [property: Id(0)] string Version,
    [property: Id(1)] ModelSetComparison Comparison,
    [property: Id(2)] DateTimeOffset EvaluatedUtc,
    [property: Id(3)] GateOverride? Override = null);

/// <summary>An admin activated a set the gate refused: who, when, why, and what the gate said.</summary>
[GenerateSerializer, Immutable]
public sealed record GateOverride(
    [property: Id(0)] string Version,
    [property: Id(1)] string Admin,
    [property: Id(2)] string Reason,
    [property: Id(3)] DateTimeOffset AtUtc,
    [property: Id(4)] GateDecision Decision,
    [property: Id(5)] string GateSummary);
