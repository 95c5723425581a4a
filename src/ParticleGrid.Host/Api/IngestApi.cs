using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Ingest;

namespace ParticleGrid.Host.Api;

/// <summary>A run as an instrument that cannot run .NET starts it over HTTP.</summary>
/// <param name="ContainerVolumeMl">When given, the lot is described with it (per-container counts, the verdict).</param>
public sealed record StartRunRequest(string LotId, string InstrumentId, double? AnalysedVolumeMl, int? ExpectedParticles,
    double? MicrometresPerPixel, double? ContainerVolumeMl);

/// <summary>One particle in an HTTP batch: the image as base64 (PNG, TIFF, BMP, JPEG, GIF).</summary>
public sealed record PostedParticle(string ParticleId, string Image, double? EcdMicrometres, double? MicrometresPerPixel,
    double? AreaSquareMicrometres, double? AspectRatio, double? Circularity, double? MeanIntensity);

public sealed record PostedBatch(IReadOnlyList<PostedParticle> Particles);

/// <summary>Particle ids of a run, asking which it has not recorded (a resumed upload sends only those).</summary>
public sealed record UnrecordedRequest(IReadOnlyList<string> ParticleIds);

public sealed record UnrecordedResponse(IReadOnlyList<string> Unrecorded);

/// <summary>Items of the run's export that the sender refused itself (by source: a resumed upload counts each once).</summary>
public sealed record RejectionsRequest(IReadOnlyList<RejectedItem> Items);

/// <summary>A particle the endpoint refused before it reached the run: nothing of it was recorded.</summary>
public sealed record RejectedParticle(string ParticleId, string Reason, string Message);

/// <param name="Warnings">What the instrument should fix, e.g. particles that will have no size ("sizes unknown: ...").</param>
public sealed record BatchResponse(BatchReceipt Receipt, IReadOnlyList<RejectedParticle> Rejected, IReadOnlyList<string> Warnings);

/// <summary>
/// A started run: the run's status, as <c>GET /runs/{run}</c> gives it, and warnings such as "sizes unknown: give
/// --um-per-pixel" for a run without a calibration (the lot cannot pass on particles that come without a size).
/// </summary>
public sealed record StartRunResponse(string RunId, RunState State, RunDescriptor? Descriptor, int Recorded, int Classified, int Uncertain,
    int Failed, int Rejected, double? Progress, IReadOnlyList<string> Warnings)
{
    public StartRunResponse(RunStatus status, IReadOnlyList<string> warnings) : this(status.RunId, status.State, status.Descriptor, status.Recorded,
        status.Classified, status.Uncertain, status.Failed, status.Rejected, status.Progress, warnings) { }
}

/// <summary>
/// The HTTP ingest endpoint: POST /runs/{run} starts a run, POST /runs/{run}/batches/{batch} sends particles,
/// POST /runs/{run}/complete ends it. Each image is checked as the command-line ingest checks it; bad ones come back
/// in "rejected" with their reason and change nothing; a replayed batch appends nothing. POST /runs/{run}/unrecorded
/// and /rejections are the rest of what the Orleans client asks a run, so `ingest --site` resumes and reports as
/// `ingest --cluster` does.
/// </summary>
public static class IngestApi
{
    /// <summary>The most particle ids one /unrecorded question may carry (the command-line ingest asks 1000 at a time).</summary>
    public const int MaxIdsPerQuestion = 10_000;

    /// <summary>The longest particle id accepted (an id is a key of the ledger and is echoed in messages).</summary>
    public const int MaxParticleIdLength = 256;

    /// <summary>The largest size, area or intensity a particle may state (a million micrometres is a metre): beyond it, a unit mix-up or garbage.</summary>
    public const double MaxMeasure = 1e6;

    /// <param name="limits">
    /// Body size, particles per batch, pixels per image and batches in flight (<see cref="Hosting.RequestLimits"/>):
    /// every request here is refused with a 4xx that says which limit it broke, before it costs more than the limit.
    /// </param>
    public static RouteGroupBuilder MapIngest(this RouteGroupBuilder group, Hosting.RequestLimits limits)
    {
        var runs = group.MapGroup("");
        runs.MapPost("/{run}", async (string run, StartRunRequest request, IGrainFactory grains) => await Guarded(async () =>
        {
            // Before the run starts: a volume that differs from the lot's is refused (403) by the store's rule, and no run is started.
            if (request.ContainerVolumeMl is not null)
                await grains.GetGrain<ILotGrain>(request.LotId ?? "").Describe(new LotDescriptor(request.ContainerVolumeMl));
            var status = await grains.GetGrain<IInstrumentRunGrain>(run).Start(new RunDescriptor(request.LotId!, request.InstrumentId!,
                request.AnalysedVolumeMl, request.ExpectedParticles, request.MicrometresPerPixel));
            return Results.Ok(new StartRunResponse(status, SizeWarnings.ForRunWithoutCalibration(request.MicrometresPerPixel) is { } w ? [w] : []));
        }));

        var gate = new BatchGate(limits.MaxConcurrentBatchesPerRun, limits.MaxBatchesInFlight, limits.MaxBatchBytesInFlight, limits.MaxBatchBytes);
        runs.MapPost("/{run}/batches/{batch}", async (string run, string batch, HttpContext http, IGrainFactory grains) =>
        {
            // Admitted before the body is read: a refused batch costs no memory, and the gateway holds at most
            // MaxBatchesInFlight bodies and MaxBatchBytesInFlight of them at once, whoever sends them.
            using var admitted = gate.TryEnter(run, http.Request.ContentLength, out var refusal);
            if (admitted is null) return refusal!;
            return await Guarded(async () =>
            {
                var posted = await http.Request.ReadFromJsonAsync<PostedBatch>(http.RequestAborted)
                    ?? throw new ArgumentException("the body must be a JSON batch: {\"particles\": [{\"particleId\": ..., \"image\": base64}]}");
                if (posted.Particles is { Count: var count } && count > limits.MaxParticlesPerBatch)
                    return TooLarge($"the batch has {count:N0} particles; at most {limits.MaxParticlesPerBatch:N0} per batch (ParticleGrid:Limits:MaxParticlesPerBatch): send smaller batches");
                var (accepted, rejected) = Check(posted, limits.MaxPixelsPerImage);
                var grain = grains.GetGrain<IInstrumentRunGrain>(run);
                if (rejected.Count > 0) await grain.ReportRejections([.. rejected.Select(r => new RejectedItem($"batch {batch} particle {r.ParticleId}", r.Reason))]);
                var receipt = accepted.Count > 0 ? await grain.SubmitBatch(batch, accepted) : new BatchReceipt(batch, 0, 0, 0, 0);
                return Results.Ok(new BatchResponse(receipt, rejected, await SizeWarningsAsync(grain, accepted)));
            });
        }).WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(limits.MaxBatchBytes));

        runs.MapPost("/{run}/unrecorded", async (string run, UnrecordedRequest request, IGrainFactory grains) => await Guarded(async () =>
        {
            if (request.ParticleIds is null) throw new ArgumentException("the body must be {\"particleIds\": [...]}");
            if (request.ParticleIds.Count > MaxIdsPerQuestion) throw new ArgumentException($"at most {MaxIdsPerQuestion} particle ids per question");
            return Results.Ok(new UnrecordedResponse(await grains.GetGrain<IInstrumentRunGrain>(run).Unrecorded(request.ParticleIds)));
        }));

        runs.MapPost("/{run}/rejections", async (string run, RejectionsRequest request, IGrainFactory grains) => await Guarded(async () =>
        {
            if (request.Items is null || request.Items.Any(i => i is null || string.IsNullOrWhiteSpace(i.Source) || string.IsNullOrWhiteSpace(i.Reason)))
                throw new ArgumentException("the body must be {\"items\": [{\"source\": ..., \"reason\": ...}]}");
            if (request.Items.Count > MaxIdsPerQuestion) throw new ArgumentException($"at most {MaxIdsPerQuestion} rejected items per request");
            return Results.Ok(new { added = await grains.GetGrain<IInstrumentRunGrain>(run).ReportRejections(request.Items) });
        }));

        // ingest --retry-failed: the run's particles failed by an outage before outages paused runs are removed, to be sent again.
        runs.MapPost("/{run}/retry-failed", async (string run, IGrainFactory grains) =>
            await Guarded(async () => Results.Ok(new { removed = await grains.GetGrain<IInstrumentRunGrain>(run).RetryInfrastructureFailures() })));

        runs.MapPost("/{run}/complete", async (string run, IGrainFactory grains) =>
            await Guarded(async () => Results.Ok(await grains.GetGrain<IInstrumentRunGrain>(run).Complete())));
        return runs;
    }

    private static IResult TooLarge(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status413PayloadTooLarge);

    /// <summary>"sizes unknown" when particles of the batch came without a size and neither they nor the run have a calibration.</summary>
    private static async Task<IReadOnlyList<string>> SizeWarningsAsync(IInstrumentRunGrain run, IReadOnlyList<ParticleImage> accepted)
    {
        if (accepted.Count == 0 || accepted.All(p => p.EcdMicrometres is not null || p.MicrometresPerPixel is not null)) return [];
        if ((await run.GetStatus()).Descriptor?.MicrometresPerPixel is not null) return [];
        int unsized = accepted.Count(p => p.EcdMicrometres is null && p.MicrometresPerPixel is null);
        return SizeWarnings.ForRun(unsized, accepted.Count) is { } warning ? [warning] : [];
    }

    /// <summary>
    /// Each particle is checked alone, and a bad one is rejected alone: its id and numbers first, then its image's
    /// header (the pixels it declares, against <paramref name="maxPixels"/>, before anything is decoded), then the
    /// image decoded as the readers decode files, so that whatever passes here decodes for the networks too.
    /// </summary>
    private static (List<ParticleImage> Accepted, List<RejectedParticle> Rejected) Check(PostedBatch batch, long maxPixels)
    {
        if (batch.Particles is null || batch.Particles.Count == 0) throw new ArgumentException("the batch has no particles");
        var accepted = new List<ParticleImage>();
        var rejected = new List<RejectedParticle>();
        foreach (var p in batch.Particles)
        {
            var (refused, image) = RefusalOrImage(p, maxPixels);
            if (refused is not null)
            {
                rejected.Add(refused);
                continue;
            }
            accepted.Add(new ParticleImage(p!.ParticleId, image!, p.EcdMicrometres, p.MicrometresPerPixel,
                ParticleShape.Of(p.AreaSquareMicrometres, p.AspectRatio, p.Circularity, p.MeanIntensity)));
        }
        return (accepted, rejected);
    }

    /// <summary>Why <paramref name="p"/> is refused (with the reason the run counts), or its image's bytes.</summary>
    private static (RejectedParticle? Refused, byte[]? Image) RefusalOrImage(PostedParticle? p, long maxPixels)
    {
        string id = p?.ParticleId ?? "";
        RejectedParticle Refuse(RejectionReason reason, string message) => new(Shorten(id), reason.ToString(), $"particle {Shorten(id)}: {message}");
        if (p is null || string.IsNullOrWhiteSpace(id)) return (Refuse(RejectionReason.BadRow, "no particle id"), null);
        if (id.Length > MaxParticleIdLength) return (Refuse(RejectionReason.BadRow, $"the particle id has {id.Length:N0} characters; at most {MaxParticleIdLength}"), null);
        foreach (var (name, value) in new[] { ("ecdMicrometres", p.EcdMicrometres), ("micrometresPerPixel", p.MicrometresPerPixel),
                     ("areaSquareMicrometres", p.AreaSquareMicrometres), ("aspectRatio", p.AspectRatio), ("circularity", p.Circularity),
                     ("meanIntensity", p.MeanIntensity) })
        {
            if (value is { } v && !(v >= 0 && v <= MaxMeasure))
                return (Refuse(name is "ecdMicrometres" or "micrometresPerPixel" ? RejectionReason.BadSize : RejectionReason.BadRow,
                    $"{name} {v} is not a number from 0 to {MaxMeasure:G}"), null);
        }

        byte[] bytes;
        try { bytes = Convert.FromBase64String(p.Image ?? ""); }
        catch (FormatException) { return (Refuse(RejectionReason.NotAnImage, "the image is not base64"), null); }

        string source = $"particle {Shorten(id)}";
        try
        {
            var (width, height) = ParticleGrid.Imaging.ParticleImageDecoder.ReadSize(bytes, source);
            if ((long)width * height > maxPixels)
                return (Refuse(RejectionReason.ImageTooLarge,
                    $"the image declares {width:N0} x {height:N0} pixels; at most {maxPixels:N0} pixels per image (ParticleGrid:Limits:MaxPixelsPerImage)"), null);
        }
        catch (ParticleGrid.Imaging.ParticleImageException)
        {
            // Not an image, or a header that cannot be read: the full check below says which, as a file reader would.
        }
        if (ExportImages.Check(bytes, source) is { } problem)
            return (new RejectedParticle(Shorten(id), problem.Reason.ToString(), problem.Message), null);
        return (null, bytes);
    }

    /// <summary>An id as far as it is echoed back: a client's mistake should not grow the answer or the run's rejections without end.</summary>
    private static string Shorten(string id) => id.Length <= MaxParticleIdLength ? id : $"{id[..MaxParticleIdLength]}...";

    /// <summary>
    /// What a caller got wrong is a 4xx with the reason (403: a run may not change its lot's volume); a cluster without
    /// models is a 503; a run paused by an outage (no worker, the store down or its disk full) is a 503 with Retry-After,
    /// nothing of the request recorded.
    /// </summary>
    private static async Task<IResult> Guarded(Func<Task<IResult>> action)
    {
        try { return await action(); }
        catch (ArgumentException e) { return Results.BadRequest(new { error = e.Message }); }
        catch (InvalidOperationException e) { return Results.Conflict(new { error = e.Message }); }
        catch (NoModelSetException e) { return Results.Json(new { error = e.Message }, statusCode: StatusCodes.Status503ServiceUnavailable); }
        catch (LotChangeRefusedException e) { return Results.Json(new { error = e.Message }, statusCode: StatusCodes.Status403Forbidden); }
        catch (RunPausedException e) { return new RetryLater(e.Message, e.RetryAfterMs); }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge("the request body is larger than the limit for a batch (ParticleGrid:Limits:MaxBatchBytes): send fewer particles per batch");
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) { return Results.Json(new { error = e.Message }, statusCode: e.StatusCode); }
        catch (System.Text.Json.JsonException e) { return Results.BadRequest(new { error = $"the body is not valid JSON: {e.Message}" }); }
        // Last: a bad request body is an IOException too, and is the caller's, not an outage.
        catch (Exception e) when (e is not BadHttpRequestException && Storage.StoreOutages.IsOutage(e)) { return new RetryLater($"the particle store cannot be used now: {Storage.StoreOutages.Describe(e)}", 5000); }
    }

    /// <summary>503 with Retry-After (whole seconds): send the same request again then; the run resumes where it is.</summary>
    private sealed class RetryLater(string error, int retryAfterMs) : IResult
    {
        public Task ExecuteAsync(HttpContext http)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfterMs / 1000.0)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Json(new { error }, statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(http);
        }
    }
}
