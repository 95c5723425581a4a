using ParticleGrid.Domain;

namespace ParticleGrid.Storage;

/// <summary>
/// One particle's result with its lineage: which instrument, run and lot it came from, which image (by hash), what
/// every network said, the ensemble's vote and the model set that made it. Keyed by (run, particle); never updated.
/// </summary>
/// <param name="Type">The ensemble's vote (folder name); null when <paramref name="Failure"/> is set.</param>
/// <param name="Probability">The winning class's combined probability.</param>
/// <param name="UncertainReason">"below_threshold", "disagreement", or null when confident.</param>
/// <param name="Failure">Why the particle could not be classified (corrupt image, workers failing); null on success.</param>
/// <param name="SizeSource">Where <paramref name="EcdMicrometres"/> came from: "instrument" (its list), "image" (the mask), or null.</param>
/// <param name="Shape">Area, aspect ratio, circularity and intensity, each from the instrument or else the mask; null when neither gave any.</param>
/// <param name="Image">The image as received, kept for the gallery and review; not loaded with lists of particles.</param>
public sealed record ParticleRecord(
    string RunId,
    string ParticleId,
    string LotId,
    string InstrumentId,
    string ImageSha256,
    double? EcdMicrometres,
    string? Type,
    double? Probability,
    bool IsUncertain,
    string? UncertainReason,
    string? ModelSetVersion,
    IReadOnlyList<ModelVote> Votes,
    string? Failure,
    DateTimeOffset RecordedUtc,
    string? SizeSource = null,
    ParticleShape? Shape = null,
    byte[]? Image = null)
{
    public bool IsFailed => Failure is not null;

    /// <summary>The particle as a lot profile counts it.</summary>
    public CountedParticle ToCounted() =>
        new(Type is not null && ParticleTypes.TryParse(Type, out var t) ? t : null, EcdMicrometres, IsUncertain);
}

/// <summary>An instrument run: where its particles come from and how much sample it analysed.</summary>
/// <param name="CompletedUtc">When the instrument said it had sent everything; null while the run is in progress (its lot
/// is then not assessable). Runs recorded before this was stored read as in progress until they are completed again.</param>
public sealed record RunRecord(string RunId, string LotId, string InstrumentId, double? AnalysedVolumeMl, int? ExpectedParticles, DateTimeOffset StartedUtc,
    DateTimeOffset? CompletedUtc = null);

/// <summary>A lot: the product batch QA judges; the container volume turns per-mL counts into per-container ones.</summary>
public sealed record LotRecord(string LotId, double? ContainerVolumeMl, string? Product);

/// <summary>A run's counts as the store sees them.</summary>
public sealed record RunCounts(int Recorded, int Classified, int Uncertain, int Failed);

/// <summary>Two writers disagree about something the store keeps once (a run moved to another lot, say).</summary>
public sealed class StoreConflictException(string message) : Exception(message);

/// <summary>A particle as QA reads it: its record and, when a reviewer has looked at it, the label they gave.</summary>
public sealed record ReviewedParticle(ParticleRecord Particle, string? ReviewedLabel)
{
    /// <summary>The label profiles count: the reviewer's where there is one, else the ensemble's vote.</summary>
    public string? EffectiveType => ReviewedLabel ?? Particle.Type;
}

/// <summary>Which particles to list, and which page of them.</summary>
/// <param name="Type">The effective type (reviewed label, else the vote), folder name.</param>
/// <param name="UnreviewedUncertainOnly">The review queue: uncertain particles nobody has reviewed.</param>
public sealed record ParticleQuery(string? RunId = null, string? LotId = null, string? Type = null, double? MinEcdMicrometres = null,
    double? MaxEcdMicrometres = null, bool? Uncertain = null, bool? Reviewed = null, bool UnreviewedUncertainOnly = false,
    int Limit = 50, int Offset = 0);

/// <summary>One page of particles and how many match in all.</summary>
public sealed record ParticlePage(int Total, IReadOnlyList<ReviewedParticle> Particles);

/// <summary>
/// A lot as the lot list shows it: the row of <c>lot_aggregates</c> the store keeps with every change to the lot, its
/// verdict included (judged from the lot's aggregates by the settings whose fingerprint is <paramref name="VerdictConfiguration"/>).
/// </summary>
/// <param name="RunsInProgress">Of the runs, those not completed yet.</param>
/// <param name="VerdictComputedUtc">When the verdict was last judged (the last change to any of its inputs).</param>
public sealed record LotSummary(string LotId, string? Product, double? ContainerVolumeMl, int Runs, int Particles,
    DateTimeOffset? FirstRunUtc, DateTimeOffset? LastRunUtc, VerdictOutcome Verdict, IReadOnlyList<string> VerdictReasons,
    int RunsInProgress, DateTimeOffset VerdictComputedUtc, string VerdictConfiguration)
{
    /// <summary>Where the lot stands in the list (most recent run first, then lot id, both descending): a page's cursor.</summary>
    public LotKey Key => new(LastRunUtc?.ToUnixTimeMilliseconds() ?? 0, LotId);
}

/// <summary>A lot's place in the lot list: its last run's start (Unix ms, 0 without runs) and its id.</summary>
public sealed record LotKey(long RecentUnixMs, string LotId);

/// <summary>Which lots to list, filtered in SQL on the kept aggregates, and which page of them.</summary>
/// <param name="Product">Part of the product's name, any case.</param>
/// <param name="LastRunFrom">Lots whose last run started at or after this.</param>
/// <param name="FirstRunBefore">Lots whose first run started before this.</param>
/// <param name="Verdict">Lots with this stored verdict.</param>
/// <param name="Limit">At most this many lots (0: only the total).</param>
/// <param name="After">A page's <see cref="LotListPage.Next"/>: the lots after it.</param>
public sealed record LotListQuery(string? Product = null, DateTimeOffset? LastRunFrom = null, DateTimeOffset? FirstRunBefore = null,
    VerdictOutcome? Verdict = null, int Limit = 50, LotKey? After = null);

/// <summary>One page of lots, how many match the filter in all, and where the next page starts (null after the last).</summary>
public sealed record LotListPage(int Total, IReadOnlyList<LotSummary> Lots, LotKey? Next);

/// <summary>
/// One entry of the review audit trail: who relabelled or confirmed which particle, when, why, and the label it
/// replaced. Entries are chained by hash (each hash covers the previous one), so a changed or removed entry shows.
/// </summary>
/// <param name="ReviewerTokenId">The id of the token the reviewer used (entries written before tokens had ids in the audit keep only the name).</param>
public sealed record ReviewEntry(long Sequence, string LotId, string RunId, string ParticleId, string Reviewer, DateTimeOffset AtUtc,
    string? PreviousLabel, string Label, string Reason, string PreviousHash, string Hash, string? ReviewerTokenId = null);

/// <summary>What checking the audit trail's hash chain found.</summary>
public sealed record AuditVerification(bool Intact, int Entries, long? FirstBrokenSequence, string? Problem);

/// <summary>An access token as stored: never the token itself, only its SHA-256 (which no record carries).</summary>
/// <param name="TokenId">The first 12 hex digits of the hash: what lists, audit entries and <c>token revoke</c> name it by.</param>
/// <param name="ExpiresUtc">After this the token is refused; null: it lasts until revoked.</param>
/// <param name="LastUsedUtc">When a request last presented it (written at most once a minute, so to the minute).</param>
/// <param name="RevokedUtc">When an admin revoked it; null while it is not revoked.</param>
public sealed record AccessToken(string TokenId, string Name, string Role, DateTimeOffset CreatedUtc, DateTimeOffset? ExpiresUtc = null,
    DateTimeOffset? LastUsedUtc = null, DateTimeOffset? RevokedUtc = null)
{
    /// <summary>Why the token may not be used at <paramref name="now"/> ("revoked ...", "expired ..."); null when it may.</summary>
    public string? RefusalAt(DateTimeOffset now) =>
        RevokedUtc is { } revoked ? $"the token {TokenId} was revoked at {revoked:u}"
        : ExpiresUtc is { } expires && expires <= now ? $"the token {TokenId} expired at {expires:u}"
        : null;
}

/// <summary>
/// Who did something the audit trail keeps: the token's id and its name when a token did it (the HTTP API), the name
/// alone when it was done on the store directly (the <c>particlegrid</c> command on the site's machine).
/// </summary>
public sealed record Actor(string? TokenId, string Name)
{
    public override string ToString() => TokenId is null ? Name : $"{Name} (token {TokenId})";
}

/// <summary>One entry of the admin audit trail: a token made or revoked, a lot's description changed.</summary>
/// <param name="Action">"token created", "token revoked", "lot changed".</param>
/// <param name="Subject">What it was done to: the token's id, the lot's id.</param>
/// <param name="Detail">What changed, and the reason given.</param>
public sealed record AdminAuditEntry(long Sequence, DateTimeOffset AtUtc, string? TokenId, string TokenName, string Action, string Subject, string Detail);

/// <summary>
/// A description of a lot would change a container volume or product already set, which only an admin may do (with a
/// reason, audited). Every run of a lot sends its description again: the same values, or values not yet set, are allowed.
/// </summary>
public sealed class LotDescriptionLockedException(string lotId, IReadOnlyList<string> changes)
    : Exception($"lot {lotId} is already described; this would change {string.Join(" and ", changes)}. Only an admin changes a lot's " +
                $"container volume or product, with a reason (PUT /lots/{lotId}); send the stored values, or none, to start the run")
{
    public string LotId { get; } = lotId;
}

/// <summary>What recounting the kept aggregates from the particles found (<c>particlegrid store verify</c>).</summary>
/// <param name="Lots">Lots with particles or a kept tally.</param>
/// <param name="Particles">Particles recounted.</param>
/// <param name="Differences">One line per cell or count that differs from the recount; none when the aggregates are right.</param>
public sealed record AggregateCheck(int Lots, long Particles, IReadOnlyList<string> Differences);
