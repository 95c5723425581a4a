using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Host.Api;

// What the QA API's routes answer and take. The web UI (wwwroot) and the tests read these shapes: names are
// serialized camelCase, so renaming a property changes the API.

/// <summary>A lot in the lot list: its stored verdict, the reasons for it (why it is not assessable, say) and when it was judged.</summary>
public sealed record LotListItem(string Lot, string? Product, double? ContainerVolumeMl, int Runs, int Particles,
    DateTimeOffset? FirstRunUtc, DateTimeOffset? LastRunUtc, VerdictOutcome Verdict, IReadOnlyList<string> VerdictReasons,
    int RunsInProgress, DateTimeOffset VerdictComputedUtc)
{
    public static LotListItem Of(LotSummary lot) => new(lot.LotId, lot.Product, lot.ContainerVolumeMl, lot.Runs, lot.Particles,
        lot.FirstRunUtc, lot.LastRunUtc, lot.Verdict, lot.VerdictReasons, lot.RunsInProgress, lot.VerdictComputedUtc);
}

/// <summary>One page of the lot list (most recent run first).</summary>
/// <param name="Total">How many lots match the filter, on every page.</param>
/// <param name="Next">The cursor of the page after this one (pass it as <c>?after=</c> with the same filter), or null on the last page.</param>
public sealed record LotListView(int Total, IReadOnlyList<LotListItem> Lots, string? Next);

/// <summary>A particle as QA sees it: the vote, the reviewer's label if any, every network's opinion, its size and lineage.</summary>
public sealed record ParticleView(string RunId, string ParticleId, string LotId, string InstrumentId, string? Type, string? ClassifiedType,
    double? Probability, bool IsUncertain, string? UncertainReason, string? ReviewedLabel, double? EcdMicrometres, string? SizeSource,
    double? AreaSquareMicrometres, double? AspectRatio, double? Circularity, double? MeanIntensity, string? ModelSetVersion,
    IReadOnlyList<ModelVote> Votes, string? Failure, string ImageSha256, IReadOnlyList<string> Classes);

/// <summary>A page of particles and how many match in all.</summary>
/// <param name="Next">The cursor of the page after this one (pass it as <c>?after=</c>), or null when this page is the last.</param>
public sealed record ParticlePageView(int Total, int Offset, int Limit, IReadOnlyList<ParticleView> Particles, string? Next);

public sealed record ParticleDetail(ParticleView Particle, IReadOnlyList<ReviewEntry> Reviews);

/// <summary>A reviewer's decision: the label (the same as the vote to confirm it) and why.</summary>
public sealed record ReviewRequest(string? Label, string? Reason);

public sealed record ReviewResponse(ReviewEntry Review, ParticleView Particle);

/// <summary>One lot in a product's trend: its verdict and the figures judged.</summary>
public sealed record TrendPoint(string Lot, DateTimeOffset? FirstRunUtc, VerdictOutcome Verdict, string Unit, double? AtOrAbove10, double? AtOrAbove25,
    IReadOnlyDictionary<string, int> CountsByType, IReadOnlyList<string> VerdictReasons);

/// <summary>Every error the API answers: <c>{"error": "..."}</c>, the same shape as <see cref="ApiErrors"/> writes.</summary>
public sealed record ApiError(string Error);

/// <summary>Who the bearer token belongs to (<c>/auth/me</c>), for the UI's header.</summary>
public sealed record CurrentUser(string? Name, string? Role);

/// <summary>A token just made: the token itself, shown this once, and what is stored of it.</summary>
public sealed record CreatedToken(string Token, string TokenId, string Name, string Role, DateTimeOffset CreatedUtc, DateTimeOffset? ExpiresUtc = null);

/// <summary>The registered model sets and which one is active.</summary>
public sealed record ModelSets(string? Active, IReadOnlyList<ModelSetInfo> Sets);

/// <summary>An activation that overrode the gate: the set, and the gate's report naming the admin and the reason.</summary>
public sealed record OverriddenActivation(ModelSetInfo Set, ModelSetGateReport? Gate);

/// <summary>A new access token: its role and whose it is.</summary>
public sealed record TokenRequest(string? Role, string? Name, string? Expires = null);

/// <summary>A model set to register: its three model folders on the shared models volume.</summary>
public sealed record ModelSetRequest(IReadOnlyList<string>? Directories);

/// <summary>An activation's optional body: an admin overriding the gate, and why.</summary>
public sealed record ActivationRequest(bool? Override, string? Reason);
