using System.Globalization;
using System.IO.Compression;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Storage;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Processing;

namespace ParticleGrid.Host.Api;

/// <summary>A lot in the lot list: its verdict and the reasons for it (why it is not assessable, say).</summary>
public sealed record LotListItem(string Lot, string? Product, double? ContainerVolumeMl, int Runs, int Particles,
    DateTimeOffset? FirstRunUtc, DateTimeOffset? LastRunUtc, VerdictOutcome Verdict, IReadOnlyList<string> VerdictReasons);

/// <summary>A particle as QA sees it: the vote, the reviewer's label if any, every network's opinion, its size and lineage.</summary>
public sealed record ParticleView(string RunId, string ParticleId, string LotId, string InstrumentId, string? Type, string? ClassifiedType,
    double? Probability, bool IsUncertain, string? UncertainReason, string? ReviewedLabel, double? EcdMicrometres, string? SizeSource,
    double? AreaSquareMicrometres, double? AspectRatio, double? Circularity, double? MeanIntensity, string? ModelSetVersion,
    IReadOnlyList<ModelVote> Votes, string? Failure, string ImageSha256, IReadOnlyList<string> Classes);

public sealed record ParticlePageView(int Total, int Offset, int Limit, IReadOnlyList<ParticleView> Particles);

public sealed record ParticleDetail(ParticleView Particle, IReadOnlyList<ReviewEntry> Reviews);

/// <summary>A reviewer's decision: the label (the same as the vote to confirm it) and why.</summary>
public sealed record ReviewRequest(string? Label, string? Reason);

public sealed record ReviewResponse(ReviewEntry Review, ParticleView Particle);

/// <summary>One lot in a product's trend: its verdict and the figures judged.</summary>
public sealed record TrendPoint(string Lot, DateTimeOffset? FirstRunUtc, VerdictOutcome Verdict, string Unit, double? AtOrAbove10, double? AtOrAbove25,
    IReadOnlyDictionary<string, int> CountsByType, IReadOnlyList<string> VerdictReasons);

/// <summary>
/// What QA queries: lots (list, search, profile, runs, traceability, trend), particles (pages, images, votes), the
/// review queue and its audit trail, and exports. Reads come from the store, the one source of truth.
/// </summary>
public static class QaApi
{
    public const int MaxPage = 500;
    public const long MaxReviewBytes = 16 * 1024;

    public static WebApplication MapQaApi(this WebApplication app)
    {
        app.MapGet("/auth/me", (ClaimsPrincipal user) => Results.Ok(new { name = user.Identity?.Name, role = user.FindFirstValue(ClaimTypes.Role) }));

        var lots = app.MapGroup("/lots").RequireAuthorization(Auth.Policies.Read);
        lots.MapGet("/", ListLots);
        lots.MapGet("/{lot}/runs", async (string lot, IParticleStore store, IGrainFactory grains) =>
        {
            var runs = await store.RunsOfLotAsync(lot);
            if (runs.Count == 0 && await store.GetLotAsync(lot) is null) return UnknownLot(lot);
            return Results.Ok(await Task.WhenAll(runs.Select(r => grains.GetGrain<IInstrumentRunGrain>(r.RunId).GetStatus())));
        });
        lots.MapGet("/{lot}/traceability", async (string lot, IParticleStore store, VerdictPolicy policy) =>
            await LotProfileQuery.ComputeAsync(store, lot, policy) is { } profile ? Results.Ok(Traceability.Rank(profile)) : UnknownLot(lot));
        lots.MapGet("/{lot}/particles", (string lot, HttpContext http, IParticleStore store, IGrainFactory grains) =>
            Page(http, store, grains, new ParticleQuery(LotId: lot), lot));
        lots.MapGet("/{lot}/review", (string lot, HttpContext http, IParticleStore store, IGrainFactory grains) =>
            Page(http, store, grains, new ParticleQuery(LotId: lot, UnreviewedUncertainOnly: true), lot));
        lots.MapGet("/{lot}/audit", async (string lot, IParticleStore store) =>
            await LotExistsAsync(store, lot) ? Results.Ok(await store.ReviewsAsync(lot)) : UnknownLot(lot));
        lots.MapGet("/{lot}/export.json", async (string lot, IParticleStore store, VerdictPolicy policy) =>
            await LotProfileQuery.ComputeAsync(store, lot, policy) is { } profile
                ? Results.Json(profile, contentType: "application/json", statusCode: 200) : UnknownLot(lot));
        lots.MapGet("/{lot}/export.csv", async (string lot, IParticleStore store, VerdictPolicy policy) =>
            await LotProfileQuery.ComputeAsync(store, lot, policy) is { } profile
                ? Results.Text(Exports.ProfileCsv(profile), "text/csv", Encoding.UTF8) : UnknownLot(lot));
        lots.MapGet("/{lot}/particles.json", async (string lot, IParticleStore store, IGrainFactory grains) =>
            await LotExistsAsync(store, lot) ? Results.Ok(await AllParticlesAsync(store, grains, lot)) : UnknownLot(lot));
        lots.MapGet("/{lot}/particles.csv", async (string lot, IParticleStore store, IGrainFactory grains) =>
            await LotExistsAsync(store, lot) ? Results.Text(Exports.ParticlesCsv(await AllParticlesAsync(store, grains, lot)), "text/csv", Encoding.UTF8) : UnknownLot(lot));
        lots.MapGet("/{lot}/training-set.zip", async (string lot, IParticleStore store) =>
            await LotExistsAsync(store, lot) ? Results.File(await Exports.TrainingSetAsync(store, lot), "application/zip", $"{lot}-training-set.zip") : UnknownLot(lot));

        app.MapGet("/products/{product}/trend", async (string product, IParticleStore store, VerdictPolicy policy) =>
        {
            var points = new List<TrendPoint>();
            foreach (var lot in (await store.ListLotsAsync()).Where(l => l.Product == product).OrderBy(l => l.FirstRunUtc))
            {
                var profile = (await LotProfileQuery.ComputeAsync(store, lot.LotId, policy))!;
                bool perContainer = profile.ContainerVolumeMl is not null && profile.AnalysedVolumeMl is not null;
                double? At(double edge) => profile.ParticlesExcludingBubbles.SizeClasses.Single(s => s.AtOrAboveMicrometres == edge) is var s
                    ? (perContainer ? s.PerContainer : s.PerMl) : null;
                points.Add(new TrendPoint(lot.LotId, lot.FirstRunUtc, profile.Verdict.Outcome, perContainer ? "per container" : "per mL", At(10), At(25),
                    profile.Types.ToDictionary(t => t.Type, t => t.Count), profile.Verdict.Reasons));
            }
            return points.Count > 0 ? Results.Ok(points) : Results.NotFound(new { error = $"no lot of product '{product}' is known" });
        }).RequireAuthorization(Auth.Policies.Read);

        var particles = app.MapGroup("/runs/{run}/particles").RequireAuthorization(Auth.Policies.Read);
        particles.MapGet("/", async (string run, HttpContext http, IParticleStore store, IGrainFactory grains) =>
            await store.GetRunAsync(run) is null ? UnknownRun(run) : await Page(http, store, grains, new ParticleQuery(RunId: run), null));
        particles.MapGet("/{particle}", async (string run, string particle, IParticleStore store, IGrainFactory grains) =>
            await store.GetParticleAsync(run, particle) is { } found
                ? Results.Ok(new ParticleDetail(View(found, await ClassesAsync(grains)), await store.ReviewsAsync(null, run, particle)))
                : UnknownParticle(run, particle));
        particles.MapGet("/{particle}/image", async (string run, string particle, HttpContext http, IParticleStore store) =>
            await store.GetImageAsync(run, particle) is { } image ? Image(image, $"{run}/{particle}", thumbnail: false, http) : UnknownParticle(run, particle));
        particles.MapGet("/{particle}/thumbnail", async (string run, string particle, HttpContext http, IParticleStore store) =>
            await store.GetImageAsync(run, particle) is { } image ? Image(image, $"{run}/{particle}", thumbnail: true, http) : UnknownParticle(run, particle));
        particles.MapPost("/{particle}/review", Review)
            .RequireAuthorization(Auth.Policies.Review)
            .WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxReviewBytes));

        app.MapGet("/audit/verify", async (IParticleStore store) => Results.Ok(await store.VerifyAuditTrailAsync())).RequireAuthorization(Auth.Policies.Read);

        var admin = app.MapGroup("/").RequireAuthorization(Auth.Policies.Administer);
        admin.MapPost("/tokens", async (TokenRequest request, IParticleStore store) =>
        {
            var (token, stored) = await Auth.AccessTokens.CreateAsync(store, request.Role ?? "", request.Name ?? "");
            return Results.Ok(new { token, stored.TokenId, stored.Name, stored.Role, stored.CreatedUtc });
        });
        admin.MapGet("/models", async (IGrainFactory grains) =>
        {
            var registry = grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
            return Results.Ok(new { active = (await registry.GetActive())?.Version, sets = await registry.List() });
        });
        admin.MapPost("/models", async (ModelSetRequest request, IGrainFactory grains) =>
            Results.Ok(await grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).Register(request.Directories ?? [])));
        admin.MapPost("/models/{version}/activate", async (string version, HttpContext http, ClaimsPrincipal user, IGrainFactory grains) =>
        {
            // The body is optional: a plain activation is gated; {"override": true, "reason": "..."} is an admin's audited decision.
            var request = http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0
                ? await http.Request.ReadFromJsonAsync<ActivationRequest>() : null;
            var registry = grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
            if (request?.Override != true) return Results.Ok(await registry.Activate(version));
            if (string.IsNullOrWhiteSpace(request.Reason)) throw new ArgumentException("an override of the gate needs a reason; it is audited");
            var set = await registry.ActivateOverridingGate(version, user.Identity?.Name ?? "admin", request.Reason);
            return Results.Ok(new { set, gate = await registry.GetGate(version) });
        });
        admin.MapGet("/models/{version}/gate", async (string version, IGrainFactory grains) =>
            await grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).GetGate(version) is { } report
                ? Results.Ok(report)
                : Results.NotFound(new { error = $"model set {version} has not been through the gate; POST /models/{version}/gate evaluates it" }));
        admin.MapPost("/models/{version}/gate", async (string version, IGrainFactory grains) =>
            Results.Ok(await grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).EvaluateGate(version)));
        admin.MapGet("/models/gate/overrides", async (IGrainFactory grains) =>
            Results.Ok(await grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).GetGateAudit()));
        return app;
    }

    public sealed record TokenRequest(string? Role, string? Name);

    public sealed record ModelSetRequest(IReadOnlyList<string>? Directories);

    /// <summary>An activation's optional body: an admin overriding the gate, and why.</summary>
    public sealed record ActivationRequest(bool? Override, string? Reason);

    private static async Task<IResult> ListLots(HttpContext http, IParticleStore store, VerdictPolicy policy)
    {
        string? product = QueryValues.Text(http.Request.Query, "product");
        var verdict = QueryValues.Verdict(http.Request.Query, "verdict");
        var from = QueryValues.Date(http.Request.Query, "from");
        var to = QueryValues.Date(http.Request.Query, "to");
        var items = new List<LotListItem>();
        foreach (var lot in await store.ListLotsAsync())
        {
            if (product is not null && !(lot.Product ?? "").Contains(product, StringComparison.OrdinalIgnoreCase)) continue;
            if (from is not null && (lot.LastRunUtc is null || lot.LastRunUtc < from)) continue;
            if (to is not null && (lot.FirstRunUtc is null || lot.FirstRunUtc >= to.Value.AddDays(1))) continue;
            var judged = (await LotProfileQuery.ComputeAsync(store, lot.LotId, policy))!.Verdict;
            if (verdict is not null && judged.Outcome != verdict) continue;
            items.Add(new LotListItem(lot.LotId, lot.Product, lot.ContainerVolumeMl, lot.Runs, lot.Particles, lot.FirstRunUtc, lot.LastRunUtc, judged.Outcome, judged.Reasons));
        }
        return Results.Ok(items);
    }

    private static async Task<IResult> Page(HttpContext http, IParticleStore store, IGrainFactory grains, ParticleQuery query, string? lot)
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
        if (lot is not null && !await LotExistsAsync(store, lot)) return UnknownLot(lot);
        var page = await store.QueryParticlesAsync(query);
        var classes = await ClassesAsync(grains);
        return Results.Ok(new ParticlePageView(page.Total, query.Offset, query.Limit, [.. page.Particles.Select(p => View(p, classes))]));
    }

    private static async Task<IResult> Review(string run, string particle, ReviewRequest request, ClaimsPrincipal user, IParticleStore store, IGrainFactory grains)
    {
        var found = await store.GetParticleAsync(run, particle);
        if (found is null) return UnknownParticle(run, particle);
        var classes = await ClassesAsync(grains);
        var allowed = ClassesOf(found.Particle, classes);
        string? label = request.Label?.Trim();
        string? reason = request.Reason?.Trim();
        if (string.IsNullOrEmpty(reason)) return Results.BadRequest(new { error = "a review needs a reason: say why the label is right" });
        if (reason.Length > 1000) return Results.BadRequest(new { error = "the reason is longer than 1000 characters" });
        if (string.IsNullOrEmpty(label) || !allowed.Contains(label))
            return Results.BadRequest(new { error = $"label '{label}' is not a class of this particle's model set ({string.Join(", ", allowed)})" });

        var entry = await store.AppendReviewAsync(run, particle, user.Identity?.Name ?? "unknown", label, reason, DateTimeOffset.UtcNow);
        var updated = (await store.GetParticleAsync(run, particle))!;
        return Results.Ok(new ReviewResponse(entry, View(updated, classes)));
    }

    private static async Task<IReadOnlyList<ParticleView>> AllParticlesAsync(IParticleStore store, IGrainFactory grains, string lot)
    {
        var classes = await ClassesAsync(grains);
        var all = new List<ParticleView>();
        for (int offset = 0; ; offset += MaxPage)
        {
            var page = await store.QueryParticlesAsync(new ParticleQuery(LotId: lot, Limit: MaxPage, Offset: offset));
            all.AddRange(page.Particles.Select(p => View(p, classes)));
            if (page.Particles.Count < MaxPage) return all;
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

    private static ParticleView View(ReviewedParticle reviewed, IReadOnlyDictionary<string, IReadOnlyList<string>> classes)
    {
        var p = reviewed.Particle;
        return new ParticleView(p.RunId, p.ParticleId, p.LotId, p.InstrumentId, reviewed.EffectiveType, p.Type, p.Probability,
            p.IsUncertain && reviewed.ReviewedLabel is null, p.UncertainReason, reviewed.ReviewedLabel, p.EcdMicrometres, p.SizeSource,
            p.Shape?.AreaSquareMicrometres, p.Shape?.AspectRatio, p.Shape?.Circularity, p.Shape?.MeanIntensity, p.ModelSetVersion, p.Votes, p.Failure, p.ImageSha256,
            ClassesOf(p, classes));
    }

    /// <summary>The particle's pixels as PNG (browsers do not show TIFF); a thumbnail fits 96 px. ?original=true gives the bytes as received.</summary>
    private static IResult Image(byte[] bytes, string name, bool thumbnail, HttpContext http)
    {
        if (!thumbnail && QueryValues.Flag(http.Request.Query, "original") is true) return Results.File(bytes, "application/octet-stream", name.Replace('/', '_'));
        using var image = ParticleImageDecoder.Load(new MemoryStream(bytes, writable: false), name);
        if (thumbnail) image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(96, 96), Mode = ResizeMode.Max }));
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        http.Response.Headers.CacheControl = "private, max-age=3600";
        return Results.File(png.ToArray(), "image/png");
    }

    private static async Task<bool> LotExistsAsync(IParticleStore store, string lot) =>
        await store.GetLotAsync(lot) is not null || (await store.RunsOfLotAsync(lot)).Count > 0;

    private static IResult UnknownLot(string lot) => Results.NotFound(new { error = $"lot '{lot}' is not known: no run has been started for it and it was never described" });

    private static IResult UnknownRun(string run) => Results.NotFound(new { error = $"run '{run}' is not known: it was never started" });

    private static IResult UnknownParticle(string run, string particle) => Results.NotFound(new { error = $"particle '{particle}' of run '{run}' is not recorded" });
}

/// <summary>Lot profiles and particle lists as CSV, and reviewed particles as a training set.</summary>
public static class Exports
{
    public static string ProfileCsv(LotProfile profile)
    {
        var csv = new StringBuilder("lot,type,counts_as_particle,at_or_above_um,count,per_ml,per_container\n");
        foreach (var row in profile.Types.Append(profile.ParticlesExcludingBubbles).Append(profile.ParticlesExcludingBubblesAndSiliconeOil))
        {
            foreach (var size in row.SizeClasses)
                csv.AppendLine(Row(profile.Lot, row.Type, row.CountsAsParticle ? "true" : "false", Number(size.AtOrAboveMicrometres), size.Count.ToString(CultureInfo.InvariantCulture), Number(size.PerMl), Number(size.PerContainer)));
        }
        csv.AppendLine();
        csv.AppendLine("verdict,basis,at_or_above_um,limit,unit,measured,passes,worst_case,worst_case_passes");
        foreach (var check in profile.Verdict.Checks)
            csv.AppendLine(Row(profile.Verdict.Outcome.ToString(), profile.Verdict.Basis, Number(check.SizeMicrometres), Number(check.Limit), check.Unit, Number(check.Measured),
                check.Passes ? "true" : "false", Number(check.WorstCase), check.WorstCasePasses ? "true" : "false"));
        if (profile.Verdict.Checks.Count == 0) csv.AppendLine(Row(profile.Verdict.Outcome.ToString(), profile.Verdict.Basis, "", "", "", "", "", "", ""));

        // Every reason on its own line, so a spreadsheet shows why a lot is not assessable (or what a Pass stood despite).
        csv.AppendLine();
        csv.AppendLine("verdict,reason");
        foreach (var reason in profile.Verdict.Reasons) csv.AppendLine(Row(profile.Verdict.Outcome.ToString(), reason));
        return csv.ToString();
    }

    public static string ParticlesCsv(IReadOnlyList<ParticleView> particles)
    {
        var csv = new StringBuilder("run_id,particle_id,lot_id,instrument_id,type,classified_type,reviewed_label,probability,uncertain,uncertain_reason,ecd_um,size_source,aspect_ratio,circularity,model_set_version,image_sha256,failure\n");
        foreach (var p in particles)
        {
            csv.AppendLine(Row(p.RunId, p.ParticleId, p.LotId, p.InstrumentId, p.Type, p.ClassifiedType, p.ReviewedLabel, Number(p.Probability),
                p.IsUncertain ? "true" : "false", p.UncertainReason, Number(p.EcdMicrometres), p.SizeSource, Number(p.AspectRatio), Number(p.Circularity),
                p.ModelSetVersion, p.ImageSha256, p.Failure));
        }
        return csv.ToString();
    }

    /// <summary>
    /// The lot's reviewed particles as a training set: one folder per label with the images as received, and
    /// manifest.json saying who labelled each, when and why. Unzipped, <c>particlegrid train --data</c> takes it.
    /// </summary>
    public static async Task<byte[]> TrainingSetAsync(IParticleStore store, string lot)
    {
        var latest = (await store.ReviewsAsync(lot)).GroupBy(r => (r.RunId, r.ParticleId)).Select(g => g.Last()).ToList();
        using var zip = new MemoryStream();
        var manifest = new List<object>();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var review in latest)
            {
                if (await store.GetImageAsync(review.RunId, review.ParticleId) is not { } image) continue;
                string file = $"{review.Label}/{Safe(review.RunId)}_{Safe(review.ParticleId)}{Extension(image)}";
                var entry = archive.CreateEntry(file, CompressionLevel.Fastest);
                await using (var stream = entry.Open()) await stream.WriteAsync(image);
                manifest.Add(new { file, label = review.Label, previousLabel = review.PreviousLabel, reviewer = review.Reviewer, atUtc = review.AtUtc,
                    reason = review.Reason, runId = review.RunId, particleId = review.ParticleId, reviewSequence = review.Sequence });
            }
            var manifestEntry = archive.CreateEntry("manifest.json");
            await using var writer = new StreamWriter(manifestEntry.Open());
            await writer.WriteAsync(JsonSerializer.Serialize(new { format = "particlegrid-training-set/1", lot, createdUtc = DateTimeOffset.UtcNow, particles = manifest },
                new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
        }
        return zip.ToArray();
    }

    private static string Safe(string id) => id.Replace(':', '_');

    private static string Extension(byte[] image) => image switch
    {
        [0x89, 0x50, 0x4E, 0x47, ..] => ".png",
        [0xFF, 0xD8, ..] => ".jpg",
        [0x42, 0x4D, ..] => ".bmp",
        [0x47, 0x49, 0x46, ..] => ".gif",
        _ => ".tif",
    };

    private static string Number(double? value) => value?.ToString("G10", CultureInfo.InvariantCulture) ?? "";

    private static string Row(params string?[] cells) => string.Join(',', cells.Select(c =>
        c is null ? "" : c.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{c.Replace("\"", "\"\"")}\"" : c));
}
