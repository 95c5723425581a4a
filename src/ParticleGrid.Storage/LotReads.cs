using ParticleGrid.Domain;

namespace ParticleGrid.Storage;

/// <summary>
/// Everything a lot's profile and verdict are judged on, read from the store in one snapshot: the lot's description, its
/// runs, its tally (kept with the particles) and its runs' domain-shift counts. A few dozen rows whatever the lot's size.
/// </summary>
public sealed record LotInputs(string LotId, LotRecord? Lot, IReadOnlyList<RunRecord> Runs, LotTally Tally, IReadOnlyList<DomainShiftCounts> Shift)
{
    /// <summary>The profile with its verdict: the one function behind the stored verdict and every profile served.</summary>
    public LotProfile Profile(VerdictPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        // Per-mL figures need every run's analysed volume; one unknown volume makes them unknown.
        double? analysed = Runs.Count > 0 && Runs.All(r => r.AnalysedVolumeMl is not null) ? Runs.Sum(r => r.AnalysedVolumeMl!.Value) : null;
        return LotProfiles.Compute(LotId, Runs.Count, Tally, analysed, Lot?.ContainerVolumeMl,
            runsInProgress: Runs.Count(r => r.CompletedUtc is null), policy: policy, shift: Shift);
    }
}

/// <summary>
/// The one read path for lots: the lot grain, the QA API (its lot list, profiles, exports' checks), the web UI (through
/// the API) and <c>particlegrid lot</c> all read lots here, so they cannot disagree. Profiles are judged from the
/// lot's aggregates with the store's verdict settings (<see cref="IParticleStore.VerdictPolicy"/>): the same function
/// and settings that judged the verdict the store keeps for the lot list. The list is a page of those kept rows,
/// filtered and ordered in SQL. Neither reads a particle, so both take the same time for a lot of 100 or 300,000.
/// </summary>
public sealed class LotReads(IParticleStore store)
{
    /// <summary>The lot's profile and verdict, or null when the store knows nothing of the lot (no run, no description).</summary>
    public async Task<LotProfile?> ProfileAsync(string lotId, CancellationToken cancellation = default) =>
        await store.LotInputsAsync(lotId, cancellation) is { } inputs ? inputs.Profile(store.VerdictPolicy) : null;

    /// <summary>A page of lots with their stored verdicts, most recent run first, and the total the filter matches.</summary>
    public Task<LotListPage> ListAsync(LotListQuery query, CancellationToken cancellation = default) => store.ListLotsAsync(query, cancellation);

    /// <summary>The lot's kept row (as the list shows it), or null when the lot is not known.</summary>
    public Task<LotSummary?> SummaryAsync(string lotId, CancellationToken cancellation = default) => store.LotSummaryAsync(lotId, cancellation);

    /// <summary>
    /// Whether the store knows the lot: a run was started for it or it was described. Asked of the runs and lots
    /// themselves (two key lookups), not of the kept row, so that rows written in bulk past the store (a benchmark's or a
    /// test's fill, before <c>store rebuild</c>) can still be exported.
    /// </summary>
    public async Task<bool> ExistsAsync(string lotId, CancellationToken cancellation = default) =>
        await store.GetLotAsync(lotId, cancellation) is not null || (await store.RunsOfLotAsync(lotId, cancellation)).Count > 0;
}
