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

    /// <summary>Makes a registered set the active one on every worker.</summary>
    Task<ModelSetInfo> Activate(string version);

    /// <remarks>
    /// Interleaves with <see cref="Activate"/>: a worker activated by the activation itself asks for the active set,
    /// and must get an answer (the one active until the switch) rather than wait on the activation that waits on it.
    /// </remarks>
    [AlwaysInterleave]
    Task<ModelSetInfo?> GetActive();

    [AlwaysInterleave]
    Task<IReadOnlyList<ModelSetInfo>> List();
}

/// <summary>Keys of the singleton grains.</summary>
public static class ModelRegistryKeys
{
    /// <summary>The one model registry of a site.</summary>
    public const string Site = "site";
}
