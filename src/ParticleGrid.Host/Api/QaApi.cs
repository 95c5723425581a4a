using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Storage;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Processing;

namespace ParticleGrid.Host.Api;

/// <summary>
/// What QA queries: lots (list, search, profile, runs, traceability, trend), particles (pages, images, votes), the
/// review queue and its audit trail, and exports. Reads come from the store, the one source of truth; lots through
/// <see cref="LotReads"/>, the one read path the lot grain and <c>particlegrid lot</c> use too.
/// </summary>
/// <remarks>
/// Routes are mapped here, top to bottom, to the named handlers below them; what they answer is in QaDtos.cs, how
/// exports are written in LotExports.cs, and the admin's routes in AdminApi.cs.
/// </remarks>
public static class QaApi
{
    public const int MaxPage = 500;
    public const long MaxReviewBytes = 16 * 1024;

    public static WebApplication MapQaApi(this WebApplication app)
    {
        app.MapGet("/auth/me", Me);

        var lots = app.MapGroup("/lots").RequireAuthorization(Auth.Policies.Read);
        lots.MapGet("/", ListLots);
        lots.MapGet("/{lot}/runs", LotRuns);
        lots.MapGet("/{lot}/traceability", LotTraceability);
        lots.MapGet("/{lot}/particles", LotParticles);
        lots.MapGet("/{lot}/review", ReviewQueue);
        lots.MapGet("/{lot}/audit", LotAudit);
        lots.MapGet("/{lot}/export.json", ProfileJson);
        lots.MapGet("/{lot}/export.csv", ProfileCsv);
        lots.MapGet("/{lot}/particles.json", ParticlesJson);
        lots.MapGet("/{lot}/particles.csv", ParticlesCsv);
        lots.MapGet("/{lot}/training-set.zip", TrainingSet);

        app.MapGet("/products/{product}/trend", ProductTrend).RequireAuthorization(Auth.Policies.Read);

        var particles = app.MapGroup("/runs/{run}/particles").RequireAuthorization(Auth.Policies.Read);
        particles.MapGet("/", RunParticles);
        particles.MapGet("/{particle}", Particle);
        particles.MapGet("/{particle}/image", ParticleImage);
        particles.MapGet("/{particle}/thumbnail", ParticleThumbnail);
        particles.MapPost("/{particle}/review", Review)
            .RequireAuthorization(Auth.Policies.Review)
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxReviewBytes));

        app.MapGet("/audit/verify", VerifyAuditTrail).RequireAuthorization(Auth.Policies.Read);

        app.MapAdminApi();
        return app;
    }

    public static Ok<CurrentUser> Me(ClaimsPrincipal user) => TypedResults.Ok(new CurrentUser(user.Identity?.Name, user.FindFirstValue(ClaimTypes.Role)));

    // Lots.

    /// <summary>
    /// <c>GET /lots?product=&amp;from=&amp;to=&amp;verdict=&amp;limit=&amp;after=</c>: a page of lots, most recent run first, filtered in
    /// SQL on the rows the store keeps per lot (the verdict stored with them), with the total the filter matches and the
    /// next page's cursor. product: part of the name, any case; from/to (yyyy-MM-dd, UTC): lots with a run on or after
    /// from and on or before to; limit: 50 unless given, at most <see cref="MaxPage"/>.
    /// </summary>
    public static async Task<Ok<LotListView>> ListLots(HttpContext http, LotReads reads)
    {
        var q = http.Request.Query;
        var to = QueryValues.Date(q, "to");
        var query = new LotListQuery(
            Product: QueryValues.Text(q, "product"),
            LastRunFrom: QueryValues.Date(q, "from"),
            FirstRunBefore: to?.AddDays(1),
            Verdict: QueryValues.Verdict(q, "verdict"),
            Limit: QueryValues.Integer(q, "limit", 50, 0, MaxPage),
            After: QueryValues.LotAfter(q, "after"));
        var page = await reads.ListAsync(query, http.RequestAborted);
        return TypedResults.Ok(new LotListView(page.Total, [.. page.Lots.Select(LotListItem.Of)], page.Next is { } next ? QueryValues.LotCursor(next) : null));
    }

    public static async Task<Results<Ok<RunStatus[]>, NotFound<ApiError>>> LotRuns(string lot, IParticleStore store, LotReads reads, IGrainFactory grains)
    {
        if (!await reads.ExistsAsync(lot)) return UnknownLot(lot);
        var runs = await store.RunsOfLotAsync(lot);
        return TypedResults.Ok(await Task.WhenAll(runs.Select(r => grains.GetGrain<IInstrumentRunGrain>(r.RunId).GetStatus())));
    }

    public static async Task<Results<Ok<IReadOnlyList<TypeSource>>, NotFound<ApiError>>> LotTraceability(string lot, LotReads reads) =>
        await reads.ProfileAsync(lot) is { } profile ? TypedResults.Ok(Traceability.Rank(profile)) : UnknownLot(lot);

    public static Task<Results<Ok<ParticlePageView>, NotFound<ApiError>>> LotParticles(string lot, HttpContext http, IParticleStore store,
        LotReads reads, IParticlePages pages, IGrainFactory grains) =>
        Page(http, store, reads, pages, grains, new ParticleQuery(LotId: lot), lot);

    /// <summary>The review queue: the lot's uncertain particles nobody has reviewed yet.</summary>
    public static Task<Results<Ok<ParticlePageView>, NotFound<ApiError>>> ReviewQueue(string lot, HttpContext http, IParticleStore store,
        LotReads reads, IParticlePages pages, IGrainFactory grains) =>
        Page(http, store, reads, pages, grains, new ParticleQuery(LotId: lot, UnreviewedUncertainOnly: true), lot);

    public static async Task<Results<Ok<IReadOnlyList<ReviewEntry>>, NotFound<ApiError>>> LotAudit(string lot, IParticleStore store, LotReads reads) =>
        await reads.ExistsAsync(lot) ? TypedResults.Ok(await store.ReviewsAsync(lot)) : UnknownLot(lot);

    public static async Task<Results<JsonHttpResult<LotProfile>, NotFound<ApiError>>> ProfileJson(string lot, LotReads reads) =>
        await reads.ProfileAsync(lot) is { } profile
            ? TypedResults.Json(profile, contentType: "application/json", statusCode: 200) : UnknownLot(lot);

    public static async Task<Results<ContentHttpResult, NotFound<ApiError>>> ProfileCsv(string lot, LotReads reads) =>
        await reads.ProfileAsync(lot) is { } profile
            ? TypedResults.Text(LotExports.ProfileCsv(profile), "text/csv", Encoding.UTF8) : UnknownLot(lot);

    /// <summary>
    /// Every particle of the lot as a JSON array, serialized as the store reads them: System.Text.Json writes an
    /// <see cref="IAsyncEnumerable{T}"/> as an array and flushes as its buffer fills, so the lot is never in memory whole.
    /// </summary>
    public static async Task<Results<Ok<IAsyncEnumerable<ParticleView>>, NotFound<ApiError>>> ParticlesJson(string lot, LotReads reads,
        IParticleExportSource export, IGrainFactory grains)
    {
        if (!await reads.ExistsAsync(lot)) return UnknownLot(lot);
        return TypedResults.Ok(Views(export.ParticlesOfLotAsync(lot), await ClassesAsync(grains)));
    }

    /// <summary>
    /// Every particle of the lot as CSV, written line by line as the store reads them. Once the first bytes are sent
    /// the status is 200: a store failing part way ends the response early, and the client sees a cut transfer.
    /// </summary>
    public static async Task<Results<PushStreamHttpResult, NotFound<ApiError>>> ParticlesCsv(string lot, HttpContext http, LotReads reads,
        IParticleExportSource export, IGrainFactory grains)
    {
        if (!await reads.ExistsAsync(lot)) return UnknownLot(lot);
        var particles = Views(export.ParticlesOfLotAsync(lot), await ClassesAsync(grains));
        return TypedResults.Stream(body => LotExports.WriteParticlesCsvAsync(body, particles, http.RequestAborted), "text/csv; charset=utf-8");
    }

    public static async Task<Results<PushStreamHttpResult, NotFound<ApiError>>> TrainingSet(string lot, HttpContext http, LotReads reads, IParticleExportSource export)
    {
        if (!await reads.ExistsAsync(lot)) return UnknownLot(lot);
        return TypedResults.Stream(body => LotExports.WriteTrainingSetAsync(body, lot, export.ReviewedImagesOfLotAsync(lot), http.RequestAborted),
            "application/zip", $"{lot}-training-set.zip");
    }

    public static async Task<Results<Ok<List<TrendPoint>>, NotFound<ApiError>>> ProductTrend(string product, LotReads reads)
    {
        // The product's lots, page by page from the list (filtered in SQL on the name; exactly this product here).
        var lots = new List<LotSummary>();
        for (LotKey? after = null; ;)
        {
            var page = await reads.ListAsync(new LotListQuery(Product: product, Limit: MaxPage, After: after));
            lots.AddRange(page.Lots.Where(l => l.Product == product));
            if ((after = page.Next) is null) break;
        }
        var points = new List<TrendPoint>();
        foreach (var lot in lots.OrderBy(l => l.FirstRunUtc))
        {
            var profile = (await reads.ProfileAsync(lot.LotId))!;
            bool perContainer = profile.ContainerVolumeMl is not null && profile.AnalysedVolumeMl is not null;
            double? At(double edge) => profile.ParticlesExcludingBubbles.SizeClasses.Single(s => s.AtOrAboveMicrometres == edge) is var s
                ? (perContainer ? s.PerContainer : s.PerMl) : null;
            points.Add(new TrendPoint(lot.LotId, lot.FirstRunUtc, profile.Verdict.Outcome, perContainer ? "per container" : "per mL", At(10), At(25),
                profile.Types.ToDictionary(t => t.Type, t => t.Count), profile.Verdict.Reasons));
        }
        return points.Count > 0 ? TypedResults.Ok(points) : TypedResults.NotFound(new ApiError($"no lot of product '{product}' is known"));
    }

    // Runs' particles.

    public static async Task<Results<Ok<ParticlePageView>, NotFound<ApiError>>> RunParticles(string run, HttpContext http, IParticleStore store,
        LotReads reads, IParticlePages pages, IGrainFactory grains) =>
        await store.GetRunAsync(run) is null ? UnknownRun(run) : await Page(http, store, reads, pages, grains, new ParticleQuery(RunId: run), null);

    public static async Task<Results<Ok<ParticleDetail>, NotFound<ApiError>>> Particle(string run, string particle, IParticleStore store, IGrainFactory grains) =>
        await store.GetParticleAsync(run, particle) is { } found
            ? TypedResults.Ok(new ParticleDetail(View(found, await ClassesAsync(grains)), await store.ReviewsAsync(null, run, particle)))
            : UnknownParticle(run, particle);

    public static async Task<Results<FileContentHttpResult, NotFound<ApiError>>> ParticleImage(string run, string particle, HttpContext http, IParticleStore store) =>
        await store.GetImageAsync(run, particle) is { } image ? Image(image, $"{run}/{particle}", thumbnail: false, http) : UnknownParticle(run, particle);

    public static async Task<Results<FileContentHttpResult, NotFound<ApiError>>> ParticleThumbnail(string run, string particle, HttpContext http, IParticleStore store) =>
        await store.GetImageAsync(run, particle) is { } image ? Image(image, $"{run}/{particle}", thumbnail: true, http) : UnknownParticle(run, particle);

    public static async Task<Results<Ok<ReviewResponse>, BadRequest<ApiError>, NotFound<ApiError>>> Review(string run, string particle, ReviewRequest request,
        ClaimsPrincipal user, IParticleStore store, IGrainFactory grains)
    {
        var found = await store.GetParticleAsync(run, particle);
        if (found is null) return UnknownParticle(run, particle);
        var classes = await ClassesAsync(grains);
        var allowed = ClassesOf(found.Particle, classes);
        string? label = request.Label?.Trim();
        string? reason = request.Reason?.Trim();
        if (string.IsNullOrEmpty(reason)) return TypedResults.BadRequest(new ApiError("a review needs a reason: say why the label is right"));
        if (reason.Length > 1000) return TypedResults.BadRequest(new ApiError("the reason is longer than 1000 characters"));
        if (string.IsNullOrEmpty(label) || !allowed.Contains(label))
            return TypedResults.BadRequest(new ApiError($"label '{label}' is not a class of this particle's model set ({string.Join(", ", allowed)})"));

        var reviewer = Auth.AccessTokens.ActorOf(user);
        var entry = await store.AppendReviewAsync(run, particle, reviewer.Name, label, reason, DateTimeOffset.UtcNow, reviewer.TokenId);
        var updated = (await store.GetParticleAsync(run, particle))!;
        return TypedResults.Ok(new ReviewResponse(entry, View(updated, classes)));
    }

    public static async Task<Ok<AuditVerification>> VerifyAuditTrail(IParticleStore store) => TypedResults.Ok(await store.VerifyAuditTrailAsync());

    // What the handlers share.

    /// <summary>
    /// A page of particles: filtered by type, size, uncertain and reviewed; <c>limit</c> at most <see cref="MaxPage"/>;
    /// then either <c>offset</c> (how many to skip) or <c>after</c> (a page's <c>next</c>: the particles after its last).
    /// Deep offsets cost the rows skipped; a cursor costs what the first page costs.
    /// </summary>
    private static async Task<Results<Ok<ParticlePageView>, NotFound<ApiError>>> Page(HttpContext http, IParticleStore store, LotReads reads,
        IParticlePages pages, IGrainFactory grains, ParticleQuery query, string? lot)
    {
        var q = http.Request.Query;
        query = query with
        {
            Type = QueryValues.ParticleTypeName(q, "type"),
            MinEcdMicrometres = QueryValues.Number(q, "minEcd", 0, 1e6),
            MaxEcdMicrometres = QueryValues.Number(q, "maxEcd", 0, 1e6),
            Uncertain = QueryValues.Flag(q, "uncertain"),
            Reviewed = QueryValues.Flag(q, "reviewed"),
            Limit = QueryValues.Integer(q, "limit", 50, 0, MaxPage),
            Offset = QueryValues.Integer(q, "offset", 0, 0, int.MaxValue),
        };
        var after = QueryValues.After(q, "after");
        if (after is not null && query.Offset != 0) throw new BadQueryException("offset", "a page starts at an offset or after a cursor, not both");
        if (lot is not null && !await reads.ExistsAsync(lot)) return UnknownLot(lot);
        var page = after is { } key
            ? await pages.QueryParticlesAfterAsync(query, key)
            : await store.QueryParticlesAsync(query);
        var classes = await ClassesAsync(grains);
        var last = page.Particles.Count > 0 ? page.Particles[^1].Particle : null;
        string? next = last is not null && page.Particles.Count == query.Limit ? QueryValues.Cursor(new ParticleKey(last.RunId, last.ParticleId)) : null;
        return TypedResults.Ok(new ParticlePageView(page.Total, query.Offset, query.Limit, [.. page.Particles.Select(p => View(p, classes))], next));
    }

    /// <summary>Particles as QA sees them, one by one; a model set's classes are worked out once per export, not per particle.</summary>
    private static async IAsyncEnumerable<ParticleView> Views(IAsyncEnumerable<ReviewedParticle> particles,
        IReadOnlyDictionary<string, IReadOnlyList<string>> classes, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var bySet = new Dictionary<string, IReadOnlyList<string>>();
        IReadOnlyList<string>? withoutSet = null;
        await foreach (var p in particles.WithCancellation(cancellation))
        {
            var allowed = p.Particle.ModelSetVersion is not { } version ? withoutSet ??= ClassesOf(p.Particle, classes)
                : bySet.TryGetValue(version, out var known) ? known : bySet[version] = ClassesOf(p.Particle, classes);
            yield return View(p, allowed);
        }
    }

    /// <summary>Each registered model set's classes by version (a particle's labels are its set's classes).</summary>
    private static async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> ClassesAsync(IGrainFactory grains) =>
        (await grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).List()).ToDictionary(s => s.Version, s => s.Classes);

    /// <summary>
    /// What a reviewer may name a particle: its model set's classes, and the product's other types (fibre: what an
    /// "unknown" often turns out to be). Not "unknown" itself: a review says what the particle is.
    /// </summary>
    private static IReadOnlyList<string> ClassesOf(ParticleRecord particle, IReadOnlyDictionary<string, IReadOnlyList<string>> classes) =>
        [.. (particle.ModelSetVersion is { } version && classes.TryGetValue(version, out var known)
                ? known : ParticleTypes.StudyTypes.Select(ParticleTypes.FolderName))
            .Concat(Enum.GetValues<ParticleType>().Where(t => t != ParticleType.Unknown).Select(ParticleTypes.FolderName))
            .Distinct()];

    private static ParticleView View(ReviewedParticle reviewed, IReadOnlyDictionary<string, IReadOnlyList<string>> classes) =>
        View(reviewed, ClassesOf(reviewed.Particle, classes));

    /// <param name="allowed">The particle's classes (<see cref="ClassesOf"/>).</param>
    private static ParticleView View(ReviewedParticle reviewed, IReadOnlyList<string> allowed)
    {
        var p = reviewed.Particle;
        return new ParticleView(p.RunId, p.ParticleId, p.LotId, p.InstrumentId, reviewed.EffectiveType, p.Type, p.Probability,
            p.IsUncertain && reviewed.ReviewedLabel is null, p.UncertainReason, reviewed.ReviewedLabel, p.EcdMicrometres, p.SizeSource,
            p.Shape?.AreaSquareMicrometres, p.Shape?.AspectRatio, p.Shape?.Circularity, p.Shape?.MeanIntensity, p.ModelSetVersion, p.Votes, p.Failure, p.ImageSha256,
            allowed);
    }

    /// <summary>The particle's pixels as PNG (browsers do not show TIFF); a thumbnail fits 96 px. ?original=true gives the bytes as received.</summary>
    private static FileContentHttpResult Image(byte[] bytes, string name, bool thumbnail, HttpContext http)
    {
        if (!thumbnail && QueryValues.Flag(http.Request.Query, "original") is true) return TypedResults.File(bytes, "application/octet-stream", name.Replace('/', '_'));
        using var image = ParticleImageDecoder.Load(new MemoryStream(bytes, writable: false), name);
        if (thumbnail) image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(96, 96), Mode = ResizeMode.Max }));
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        http.Response.Headers.CacheControl = "private, max-age=3600";
        return TypedResults.File(png.ToArray(), "image/png");
    }

    private static NotFound<ApiError> UnknownLot(string lot) =>
        TypedResults.NotFound(new ApiError($"lot '{lot}' is not known: no run has been started for it and it was never described"));

    private static NotFound<ApiError> UnknownRun(string run) => TypedResults.NotFound(new ApiError($"run '{run}' is not known: it was never started"));

    private static NotFound<ApiError> UnknownParticle(string run, string particle) =>
        TypedResults.NotFound(new ApiError($"particle '{particle}' of run '{run}' is not recorded"));
}
