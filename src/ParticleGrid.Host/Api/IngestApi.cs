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
    /// <summary>The largest batch body accepted (base64 images).</summary>
    public const long MaxBatchBytes = 64L * 1024 * 1024;

    /// <summary>The most particle ids one /unrecorded question may carry (the command-line ingest asks 1000 at a time).</summary>
    public const int MaxIdsPerQuestion = 10_000;

    public static RouteGroupBuilder MapIngest(this RouteGroupBuilder group)
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

        runs.MapPost("/{run}/batches/{batch}", async (string run, string batch, HttpContext http, IGrainFactory grains) => await Guarded(async () =>
        {
            var size = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>();
            if (size is { IsReadOnly: false }) size.MaxRequestBodySize = MaxBatchBytes;
            var posted = await http.Request.ReadFromJsonAsync<PostedBatch>(http.RequestAborted)
                ?? throw new ArgumentException("the body must be a JSON batch: {\"particles\": [{\"particleId\": ..., \"image\": base64}]}");
            var (accepted, rejected) = Check(posted);
            var grain = grains.GetGrain<IInstrumentRunGrain>(run);
            if (rejected.Count > 0) await grain.ReportRejections([.. rejected.Select(r => new RejectedItem($"batch {batch} particle {r.ParticleId}", r.Reason))]);
            var receipt = accepted.Count > 0 ? await grain.SubmitBatch(batch, accepted) : new BatchReceipt(batch, 0, 0, 0, 0);
            return Results.Ok(new BatchResponse(receipt, rejected, await SizeWarningsAsync(grain, accepted)));
        })).WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxBatchBytes));

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
            return Results.Ok(new { added = await grains.GetGrain<IInstrumentRunGrain>(run).ReportRejections(request.Items) });
        }));

        // ingest --retry-failed: the run's particles failed by an outage before outages paused runs are removed, to be sent again.
        runs.MapPost("/{run}/retry-failed", async (string run, IGrainFactory grains) =>
            await Guarded(async () => Results.Ok(new { removed = await grains.GetGrain<IInstrumentRunGrain>(run).RetryInfrastructureFailures() })));

        runs.MapPost("/{run}/complete", async (string run, IGrainFactory grains) =>
            await Guarded(async () => Results.Ok(await grains.GetGrain<IInstrumentRunGrain>(run).Complete())));
        return runs;
    }

    /// <summary>"sizes unknown" when particles of the batch came without a size and neither they nor the run have a calibration.</summary>
    private static async Task<IReadOnlyList<string>> SizeWarningsAsync(IInstrumentRunGrain run, IReadOnlyList<ParticleImage> accepted)
    {
        if (accepted.Count == 0 || accepted.All(p => p.EcdMicrometres is not null || p.MicrometresPerPixel is not null)) return [];
        if ((await run.GetStatus()).Descriptor?.MicrometresPerPixel is not null) return [];
        int unsized = accepted.Count(p => p.EcdMicrometres is null && p.MicrometresPerPixel is null);
        return SizeWarnings.ForRun(unsized, accepted.Count) is { } warning ? [warning] : [];
    }

    /// <summary>Each particle's image is decoded as the readers decode files; a bad one is rejected alone.</summary>
    private static (List<ParticleImage> Accepted, List<RejectedParticle> Rejected) Check(PostedBatch batch)
    {
        if (batch.Particles is null || batch.Particles.Count == 0) throw new ArgumentException("the batch has no particles");
        var accepted = new List<ParticleImage>();
        var rejected = new List<RejectedParticle>();
        foreach (var p in batch.Particles)
        {
            string id = p?.ParticleId ?? "";
            byte[] bytes;
            try { bytes = Convert.FromBase64String(p?.Image ?? ""); }
            catch (FormatException) { rejected.Add(new RejectedParticle(id, nameof(RejectionReason.NotAnImage), $"particle {id}: the image is not base64")); continue; }
            if (ExportImages.Check(bytes, $"particle {id}") is { } problem)
            {
                rejected.Add(new RejectedParticle(id, problem.Reason.ToString(), problem.Message));
                continue;
            }
            accepted.Add(new ParticleImage(id, bytes, p!.EcdMicrometres, p.MicrometresPerPixel,
                ParticleShape.Of(p.AreaSquareMicrometres, p.AspectRatio, p.Circularity, p.MeanIntensity)));
        }
        return (accepted, rejected);
    }

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
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) { return Results.BadRequest(new { error = e.Message }); }
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
