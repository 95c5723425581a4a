using ParticleGrid.Domain;

namespace ParticleGrid.Storage;

/// <summary>A lot's profile, rebuilt from the store alone: what the lot grain serves and `particlegrid lot` prints.</summary>
public static class LotProfileQuery
{
    /// <summary>The profile, or null when the store knows nothing of the lot (no run, no description).</summary>
    /// <param name="policy">The site's verdict settings (ParticleGrid:Verdict), so every reader judges a lot alike.</param>
    public static async Task<LotProfile?> ComputeAsync(IParticleStore store, string lotId, VerdictPolicy policy, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var runs = await store.RunsOfLotAsync(lotId, cancellation);
        var lot = await store.GetLotAsync(lotId, cancellation);
        if (runs.Count == 0 && lot is null) return null;

        // Per-mL figures need every run's analysed volume; one unknown volume makes them unknown.
        double? analysed = runs.Count > 0 && runs.All(r => r.AnalysedVolumeMl is not null) ? runs.Sum(r => r.AnalysedVolumeMl!.Value) : null;
        // The tally kept with the particles, not the particles: the same profile, in time that does not grow with the lot.
        var tally = await store.LotTallyAsync(lotId, cancellation);
        var shift = await store.DomainShiftCountsOfLotAsync(lotId, cancellation);
        return LotProfiles.Compute(lotId, runs.Count, tally, analysed, lot?.ContainerVolumeMl,
            runsInProgress: runs.Count(r => r.CompletedUtc is null), policy: policy, shift: shift);
    }
}
