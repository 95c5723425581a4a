using Microsoft.AspNetCore.Http;

namespace ParticleGrid.Host.Api;

/// <summary>
/// Admits particle batches to the gateway: at most <c>perRun</c> of one run and <c>inAll</c> of all runs at once. A
/// batch beyond either is refused at once rather than queued, so a refused request holds no body and no thread;
/// the answer says when to try again (429 for one run sending too many at once, 503 when the gateway is full). The
/// table holds only runs with a batch in flight, so it is never larger than <c>inAll</c> entries.
/// </summary>
internal sealed class BatchGate(int perRun, int inAll)
{
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>A lease to dispose when the batch is done, or null and the answer to give the caller.</summary>
    public IDisposable? TryEnter(string run, out IResult? refusal)
    {
        lock (_inFlight)
        {
            if (_total >= inAll)
            {
                refusal = Busy(StatusCodes.Status503ServiceUnavailable,
                    $"the gateway is working on {inAll} batches already (ParticleGrid:Limits:MaxBatchesInFlight); try again in a second");
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
        }
        refusal = null;
        return new Lease(this, run);
    }

    private void Leave(string run)
    {
        lock (_inFlight)
        {
            _total--;
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

    private sealed class Lease(BatchGate gate, string run) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) gate.Leave(run);
        }
    }
}
