using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using ParticleGrid.Abstractions;

namespace ParticleGrid.Ingestion;

/// <summary>
/// A site reached over its HTTP API (--site URL), for instrument PCs that can reach the site's web address but not its
/// Orleans gateway port. It asks the same questions as the Orleans client (start, rejections, unrecorded, batches,
/// complete: <c>Host/Api/IngestApi.cs</c>), so the upload resumes and reports exactly as with --cluster. The token
/// (role instrument) comes from PARTICLEGRID_TOKEN, not the command line, where other users of the PC would see it.
/// </summary>
public sealed class HttpSiteConnection : ISiteConnection
{
    public const string TokenVariable = "PARTICLEGRID_TOKEN";

    /// <summary>The endpoint's JSON: camelCase, enums by name (not indented: batches carry base64 images).</summary>
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private readonly HttpClient _http;

    private HttpSiteConnection(HttpClient http, string description)
    {
        _http = http;
        Description = description;
    }

    public string Description { get; }

    /// <param name="site">The site's HTTP address, e.g. https://particlegrid.example.com.</param>
    /// <param name="token">An instrument token; null reads <see cref="TokenVariable"/>.</param>
    public static HttpSiteConnection Open(string site, string? token = null)
    {
        if (!Uri.TryCreate(site, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            throw new ArgumentException($"--site: '{site}' is not an http(s) address (the site's web address, e.g. https://particlegrid.example.com)");
        token ??= Environment.GetEnvironmentVariable(TokenVariable);
        if (string.IsNullOrWhiteSpace(token))
            throw new ArgumentException($"--site needs an instrument token in {TokenVariable} (an admin makes one: particlegrid token create --role instrument --name PC)");
        // Batches of images take a worker's time to classify; the endpoint answers when every particle is recorded.
        var http = new HttpClient { BaseAddress = new Uri(address.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        return new HttpSiteConnection(http, $"site {address.GetLeftPart(UriPartial.Path).TrimEnd('/')}");
    }

    public IRunTarget Run(string runId) => new HttpRunTarget(_http, runId, Description);

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The JSON the ingest endpoint takes and gives (the host's records, restated: a client cannot reference the host).</summary>
    private sealed record StartRunRequest(string LotId, string InstrumentId, double? AnalysedVolumeMl, int? ExpectedParticles,
        double? MicrometresPerPixel, double? ContainerVolumeMl);

    private sealed record PostedParticle(string ParticleId, string Image, double? EcdMicrometres, double? MicrometresPerPixel,
        double? AreaSquareMicrometres, double? AspectRatio, double? Circularity, double? MeanIntensity);

    private sealed record PostedBatch(IReadOnlyList<PostedParticle> Particles);

    private sealed record BatchResponse(BatchReceipt Receipt);

    private sealed record UnrecordedRequest(IReadOnlyList<string> ParticleIds);

    private sealed record UnrecordedResponse(IReadOnlyList<string> Unrecorded);

    private sealed record RejectionsRequest(IReadOnlyList<RejectedItem> Items);

    private sealed record RetryFailedResponse(IReadOnlyList<string> Removed);

    private sealed class HttpRunTarget(HttpClient http, string runId, string site) : IRunTarget
    {
        private readonly string _path = "runs/" + Uri.EscapeDataString(runId);

        public Task<RunStatus> Start(RunDescriptor run, double? containerVolumeMl) => PostAsync<RunStatus>(_path,
            new StartRunRequest(run.LotId, run.InstrumentId, run.AnalysedVolumeMl, run.ExpectedParticles, run.MicrometresPerPixel, containerVolumeMl));

        public Task ReportRejections(IReadOnlyList<RejectedItem> items) => PostAsync<JsonElement>($"{_path}/rejections", new RejectionsRequest(items));

        public async Task<IReadOnlyList<string>> Unrecorded(IReadOnlyList<string> particleIds) =>
            (await PostAsync<UnrecordedResponse>($"{_path}/unrecorded", new UnrecordedRequest(particleIds))).Unrecorded;

        public async Task<BatchReceipt> SubmitBatch(string batchId, IReadOnlyList<ParticleImage> particles) =>
            (await PostAsync<BatchResponse>($"{_path}/batches/{Uri.EscapeDataString(batchId)}", new PostedBatch([.. particles.Select(p =>
                new PostedParticle(p.ParticleId, Convert.ToBase64String(p.Image), p.EcdMicrometres, p.MicrometresPerPixel,
                    p.Shape?.AreaSquareMicrometres, p.Shape?.AspectRatio, p.Shape?.Circularity, p.Shape?.MeanIntensity))]))).Receipt;

        public Task<RunStatus> Complete() => PostAsync<RunStatus>($"{_path}/complete", new { });

        public async Task<IReadOnlyList<string>> RetryInfrastructureFailures() =>
            (await PostAsync<RetryFailedResponse>($"{_path}/retry-failed", new { })).Removed;

        /// <summary>The endpoint's 400 and 409 are the grain's ArgumentException and InvalidOperationException, and say so the same way.</summary>
        private async Task<T> PostAsync<T>(string path, object body)
        {
            HttpResponseMessage response;
            // Not reaching the site, or no answer in time, is an outage the upload waits through (SiteOutages), not a refusal.
            try { response = await http.PostAsJsonAsync(path, body, Json); }
            catch (HttpRequestException e) { throw new SiteUnavailableException($"cannot reach {site}: {e.Message}", inner: e); }
            catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
            {
                throw new SiteUnavailableException($"{site} did not answer /{path} within {http.Timeout.TotalMinutes:0} minutes", inner: e);
            }
            using (response)
            {
                if (response.IsSuccessStatusCode)
                    return (await response.Content.ReadFromJsonAsync<T>(Json))!;
                string error = await ErrorAsync(response);
                // 503 with Retry-After: the run is paused (no worker, the store down or full) and says when to ask again; a proxy's
                // 502/504: the site behind it is away. A 503 without Retry-After (no model set active) needs an admin, not a wait.
                var retryAfter = response.Headers.RetryAfter?.Delta;
                if (response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout
                    || response.StatusCode == HttpStatusCode.ServiceUnavailable && retryAfter is not null)
                    throw new SiteUnavailableException($"{site} answered {(int)response.StatusCode}: {error}", retryAfter is { } delta ? (int)delta.TotalMilliseconds : null);
                throw response.StatusCode switch
                {
                    HttpStatusCode.BadRequest => new ArgumentException(error),
                    // The site's reason: a token expired or revoked (401), a role that may not ingest, or a run that
                    // would change its lot's container volume, which only an admin may (403).
                    HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                        new InvalidOperationException($"{site} refused the token in {TokenVariable} ({(int)response.StatusCode}): {error}"),
                    HttpStatusCode.NotFound => new InvalidOperationException($"{site} has no ingest endpoint at /{path} (404): is it a ParticleGrid site's address?"),
                    _ => new InvalidOperationException($"{site} answered {(int)response.StatusCode}: {error}"),
                };
            }
        }

        private static async Task<string> ErrorAsync(HttpResponseMessage response)
        {
            string text = await response.Content.ReadAsStringAsync();
            try
            {
                using var json = JsonDocument.Parse(text);
                if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out var error)) return error.ToString();
            }
            catch (JsonException) { }
            return text.Length > 200 ? text[..200] : text;
        }
    }
}
