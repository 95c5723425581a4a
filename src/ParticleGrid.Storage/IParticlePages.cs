namespace ParticleGrid.Storage;

/// <summary>
/// Pages of particles that start after a particle rather than after a number of them (keyset pagination): a deep page
/// costs what the first one costs, and particles recorded meanwhile do not shift the pages (issue 16).
/// </summary>
public interface IParticlePages
{
    /// <summary>
    /// The particles matching <paramref name="query"/> that come after <paramref name="after"/> in (run, particle)
    /// order, at most <see cref="ParticleQuery.Limit"/> of them (its <see cref="ParticleQuery.Offset"/> is not used);
    /// the total is of every particle matching, as with offset pages.
    /// </summary>
    Task<ParticlePage> QueryParticlesAfterAsync(ParticleQuery query, ParticleKey after, CancellationToken cancellation = default);
}

/// <summary>A particle's key, the order particle pages are in.</summary>
public readonly record struct ParticleKey(string RunId, string ParticleId);
