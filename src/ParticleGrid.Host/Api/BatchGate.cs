using Microsoft.AspNetCore.Http;

namespace ParticleGrid.Host.Api;

/// <summary>
/// Admits particle batches to the gateway: at most <c>perRun</c> of one run and <c>inAll</c> of all runs at once, and
/// bodies of at most <c>bytesInAll</c> together (each counted at its declared length; a body that declares none at the
/// largest a batch may be). A batch beyond any of these is refused at once rather than queued, so a refused request
/// holds no body and no thread; the answer says when to try again (429 for one run sending too many at once, 503 when
/// the gateway is full). The byte budget is at least one batch's limit (RequestLimits.Validate), so a batch is always
/// admitted when none is in flight. The table holds only runs with a batch in flight, so it is never larger than <c>inAll</c>
/// entries.
/// </summary>
internal sealed class BatchGate(int perRun, int inAll, long bytesInAll, long maxBatchBytes)
{
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private int _total;
    private long _bytes;

    /// <summary>A lease to dispose when the batch is done, or null and the answer to give the caller.</summary>
    /// <param name="declaredBytes">The request's Content-Length; null when it sends none (chunked).</param>
    public IDisposable? TryEnter(string run, long? declaredBytes, out IResult? refusal)
    {
        // A body longer than a batch may be is refused by the size limit when read; it holds no more than that.
        long bytes = Math.Min(declaredBytes ?? maxBatchBytes, maxBatchBytes);
        lock (_inFlight)
        {
            if (_total >= inAll)
            {
                refusal = Busy(StatusCodes.Status503ServiceUnavailable,
                    $"the gateway is working on {inAll} batches already (ParticleGrid:Limits:MaxBatchesInFlight); try again in a second");
                return null;
            }
            if (_bytes + bytes > bytesInAll)
            {
                refusal = Busy(StatusCodes.Status503ServiceUnavailable,
                    $"the gateway holds {_bytes / (1024.0 * 1024):0.#} MiB of batch bodies already and this one declares {bytes / (1024.0 * 1024):0.#} MiB " +
                    $"(ParticleGrid:Limits:MaxBatchBytesInFlight, {bytesInAll / (1024.0 * 1024):0.#} MiB); try again in a second");
                return null;
            }
            int ofRun = _inFlight.GetValueOrDefault(run);
            if (ofRun >= perRun)
            {
                refusal = Busy(StatusCodes.Status429TooManyRequests,
                    $"run {run} has {perRun} batches in flight already (ParticleGrid:Limits:MaxConcurrentBatchesPerRun); send at most {perRun} at once");
                return null;
            }
            _inFlight[run] = ofRun + 1;
            _total++;
            _bytes += bytes;
        }
        refusal = null;
        return new Lease(this, run, bytes);
    }

    private void Leave(string run, long bytes)
    {
        lock (_inFlight)
        {
            _total--;
            _bytes -= bytes;
            if (_inFlight[run] == 1) _inFlight.Remove(run);
            else _inFlight[run]--;
        }
    }

    private static IResult Busy(int status, string message) => new RetryAfter(Results.Json(new { error = message }, statusCode: status));

    /// <summary>The refusal with <c>Retry-After: 1</c>: a batch takes about that long, so a place is likely free by then.</summary>
    private sealed class RetryAfter(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext http)
        {
            http.Response.Headers.RetryAfter = "1";
            return inner.ExecuteAsync(http);
        }
    }

    private sealed class Lease(BatchGate gate, string run, long bytes) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) gate.Leave(run, bytes);
        }
    }
}
