using ParticleGrid.Domain;

namespace ParticleGrid.Storage;

/// <summary>
/// The one source of truth for particle results, by concern: the particle ledger, runs and lots, the review audit trail
/// and access tokens, each its own interface below (one SQL store serves all four, in partial files by the same concern).
/// Appends are keyed by (run, particle): appending a particle that is already there changes nothing, so a replayed batch
/// cannot count twice. Lot aggregates are kept with the appends and reviews that change them, and can always be
/// recounted from the particles and rebuilt.
/// </summary>
public interface IParticleStore : IParticleLedger, IRunsAndLots, IReviewTrail, IAccessTokens
{
    /// <summary>
    /// Applies the schema migrations the store lacks, in order, then (when opened with the site's verdict settings) judges
    /// again every lot whose stored verdict other settings judged. Safe to call from every silo at every start.
    /// </summary>
    Task EnsureCreatedAsync(CancellationToken cancellation = default);
}

/// <summary>The particle ledger: each particle once, keyed by (run, particle), with its lineage and image; append-only but for
/// the one-off repair of rows an outage failed before outages paused runs (SqlParticleStore.cs, .Pages.cs, .Export.cs, .Repair.cs).</summary>
public interface IParticleLedger
{
    /// <summary>Appends results; those whose (run, particle) is already stored are skipped. Returns how many were new.</summary>
    /// <param name="onAppended">Told each particle that was new, after the transaction committed (for metrics).</param>
    Task<int> AppendAsync(IReadOnlyList<ParticleRecord> particles, CancellationToken cancellation = default, Action<ParticleRecord>? onAppended = null);

    /// <summary>Which of these particle ids of a run are already stored.</summary>
    Task<IReadOnlySet<string>> StoredParticleIdsAsync(string runId, IReadOnlyCollection<string> particleIds, CancellationToken cancellation = default);

    /// <summary>
    /// Removes a run's particles recorded as failed for an infrastructure cause (before outages paused runs), with what
    /// they were counted in, so they can be sent again; content failures and reviewed particles stay. Returns their ids.
    /// </summary>
    Task<IReadOnlyList<string>> RemoveInfrastructureFailuresAsync(string runId, CancellationToken cancellation = default);

    /// <summary>Every particle of a lot, as its profile counts them (read from the particles themselves: the tally's recount).</summary>
    Task<IReadOnlyList<CountedParticle>> CountedParticlesOfLotAsync(string lotId, CancellationToken cancellation = default);

    /// <summary>A run's particles with their full lineage, in particle id order.</summary>
    Task<IReadOnlyList<ParticleRecord>> ParticlesOfRunAsync(string runId, CancellationToken cancellation = default);

    Task<ParticlePage> QueryParticlesAsync(ParticleQuery query, CancellationToken cancellation = default);

    Task<ReviewedParticle?> GetParticleAsync(string runId, string particleId, CancellationToken cancellation = default);

    Task<byte[]?> GetImageAsync(string runId, string particleId, CancellationToken cancellation = default);
}

/// <summary>Runs and lots: their descriptions, completion, the domain-shift inputs, and each lot's kept aggregate and verdict
/// (SqlParticleStore.cs, .Lots.cs, .Tallies.cs). Read lots through <see cref="LotReads"/>.</summary>
public interface IRunsAndLots
{
    /// <summary>Records a run once. The same run again is a no-op; the same id with another lot or instrument is a <see cref="StoreConflictException"/>.</summary>
    Task SaveRunAsync(RunRecord run, CancellationToken cancellation = default);

    Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellation = default);

    /// <summary>
    /// Notes that a run is complete (the first time only; later calls keep the first time). Kept in the store, not only in
    /// the run's grain, so that every reader of the store (the lot verdict, <c>particlegrid lot</c>) knows which runs are final.
    /// </summary>
    Task CompleteRunAsync(string runId, DateTimeOffset completedUtc, CancellationToken cancellation = default);

    Task<IReadOnlyList<RunRecord>> RunsOfLotAsync(string lotId, CancellationToken cancellation = default);

    Task<RunCounts> CountRunAsync(string runId, CancellationToken cancellation = default);

    /// <summary>
    /// Describes a lot as a run does: records values not yet set; the stored values again, or none, change nothing; a
    /// different value for one already set is a <see cref="LotDescriptionLockedException"/> (see <see cref="ChangeLotAsync"/>).
    /// </summary>
    Task SaveLotAsync(LotRecord lot, CancellationToken cancellation = default);

    /// <summary>An admin changes a lot's container volume or product (null keeps it), with a reason, in the admin audit trail.</summary>
    Task<LotRecord> ChangeLotAsync(LotRecord lot, Actor changedBy, string reason, DateTimeOffset at, CancellationToken cancellation = default);

    Task<LotRecord?> GetLotAsync(string lotId, CancellationToken cancellation = default);

    /// <summary>
    /// Keeps a model set's reference of its training data for the domain-shift alarm (the unknown share its validation
    /// split showed; null when it has none). In the store, not only in the registry, so that every reader of a lot (the
    /// CLI too) compares runs alike.
    /// </summary>
    Task SaveModelSetReferenceAsync(string modelSetVersion, double? expectedUnknownShare, CancellationToken cancellation = default);

    /// <summary>A run's classified and unknown particles per model set, with each set's reference.</summary>
    Task<IReadOnlyList<DomainShiftCounts>> DomainShiftCountsOfRunAsync(string runId, CancellationToken cancellation = default);

    /// <summary>The same for every run of a lot.</summary>
    Task<IReadOnlyList<DomainShiftCounts>> DomainShiftCountsOfLotAsync(string lotId, CancellationToken cancellation = default);

    /// <summary>
    /// The settings every verdict this store keeps was judged by: a lot is judged again in the transaction of every
    /// change to its inputs, and every lot when the settings' fingerprint changes (see <see cref="EnsureCreatedAsync"/>).
    /// </summary>
    VerdictPolicy VerdictPolicy { get; }

    /// <summary>What the lot's profile and verdict are judged on, read in one snapshot; null when the lot is not known. Read through <see cref="LotReads"/>.</summary>
    Task<LotInputs?> LotInputsAsync(string lotId, CancellationToken cancellation = default);

    /// <summary>The lot's kept row with its stored verdict; null when the lot is not known. Read through <see cref="LotReads"/>.</summary>
    Task<LotSummary?> LotSummaryAsync(string lotId, CancellationToken cancellation = default);

    /// <summary>A lot's particles counted as its profile reads them, kept as they are recorded and reviewed (a few rows whatever the lot's size).</summary>
    Task<LotTally> LotTallyAsync(string lotId, CancellationToken cancellation = default);

    /// <summary>A page of lots as kept in <c>lot_aggregates</c> (verdict included), filtered and ordered in SQL; read through <see cref="LotReads"/>.</summary>
    Task<LotListPage> ListLotsAsync(LotListQuery query, CancellationToken cancellation = default);
}

/// <summary>The review audit trail: relabels with their reasons, hash-chained so an out-of-band change shows (SqlParticleStore.Qa.cs).</summary>
public interface IReviewTrail
{
    /// <summary>Appends a review to the hash-chained audit trail; the previous label is the particle's label before it.</summary>
    /// <param name="reviewerTokenId">The id of the token the reviewer used (kept beside the name, hashed with the entry).</param>
    Task<ReviewEntry> AppendReviewAsync(string runId, string particleId, string reviewer, string label, string reason, DateTimeOffset at,
        string? reviewerTokenId = null, CancellationToken cancellation = default);

    Task<IReadOnlyList<ReviewEntry>> ReviewsAsync(string? lotId, string? runId = null, string? particleId = null, CancellationToken cancellation = default);

    /// <summary>Recomputes the audit trail's hash chain: any entry changed, removed or inserted out of band shows.</summary>
    Task<AuditVerification> VerifyAuditTrailAsync(CancellationToken cancellation = default);
}

/// <summary>Access tokens (only their hashes) with their lifecycle, and the admin audit trail (SqlParticleStore.Tokens.cs).</summary>
public interface IAccessTokens
{
    /// <summary>Stores a new token's hash with its role; returns what is stored (the token itself is the caller's to show once).</summary>
    /// <remarks>With <paramref name="onlyIfNoTokens"/> it stores nothing and returns null when any token exists (the first admin token).</remarks>
    Task<AccessToken?> SaveTokenAsync(string tokenSha256, string name, string role, DateTimeOffset created, bool onlyIfNoTokens = false,
        CancellationToken cancellation = default);

    /// <summary>Stores a new token, with an expiry (null: none), and audits who made it.</summary>
    Task<AccessToken> SaveTokenAsync(string tokenSha256, string name, string role, DateTimeOffset created, DateTimeOffset? expiresUtc, Actor createdBy,
        CancellationToken cancellation = default);

    /// <summary>The token with this hash, whether or not it is still usable (<see cref="AccessToken.RefusalAt"/> says); null when none.</summary>
    Task<AccessToken?> FindTokenAsync(string tokenSha256, CancellationToken cancellation = default);

    /// <summary>Every token with its expiry, last use and revocation; never its hash.</summary>
    Task<IReadOnlyList<AccessToken>> ListTokensAsync(CancellationToken cancellation = default);

    /// <summary>Notes a use of the token unless one within the last minute is noted already (one write a minute per token).</summary>
    Task TouchTokenAsync(string tokenId, DateTimeOffset at, CancellationToken cancellation = default);

    /// <summary>Revokes a token, audited; again keeps the first revocation. Null when no token has this id.</summary>
    Task<AccessToken?> RevokeTokenAsync(string tokenId, Actor revokedBy, DateTimeOffset at, CancellationToken cancellation = default);

    /// <summary>The admin audit trail (tokens made and revoked, lots changed), oldest first; about one subject when given.</summary>
    Task<IReadOnlyList<AdminAuditEntry>> AdminAuditAsync(string? subject = null, CancellationToken cancellation = default);
}
