using System.Diagnostics;
using System.Net.Sockets;
using ParticleGrid.Abstractions;
using Polly;
using Polly.Retry;

namespace ParticleGrid.Ingestion;

/// <summary>The site did not answer, or answered "not now" (HTTP 503): an outage the upload waits through, not a refusal.</summary>
public sealed class SiteUnavailableException(string message, int? retryAfterMs = null, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>What the site asked the caller to wait (Retry-After), if it said.</summary>
    public int? RetryAfterMs { get; } = retryAfterMs;
}

/// <summary>
/// The site stayed unavailable for longer than the upload was told to wait (--retry-for). The message says in one line
/// what is recorded and that running the same command again resumes.
/// </summary>
public sealed class IngestInterruptedException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// How an upload waits through an outage of the site: its gateway restarting or killed, the run paused because no
/// worker can classify or the store is down or full. Each call to the run is retried with exponential backoff (the
/// site's own "retry after" where it gives one) until it has failed for <see cref="RetryFor"/>; the user hears once per
/// outage that the upload is waiting. Only outages are retried: a refusal (bad input, a bad token) ends the upload at once.
/// </summary>
public sealed class SiteOutages
{
    /// <summary>The default of --retry-for.</summary>
    public static readonly TimeSpan DefaultRetryFor = TimeSpan.FromMinutes(2);

    private static readonly ResiliencePropertyKey<long> CallStarted = new("particlegrid.call-started");

    private readonly ResiliencePipeline _pipeline;
    private readonly Action<string>? _warn;
    private int _waiting;

    /// <param name="warn">Told once when an outage begins (and again after the site has answered in between).</param>
    public SiteOutages(TimeSpan retryFor, Action<string>? warn)
    {
        RetryFor = retryFor;
        _warn = warn;
        _pipeline = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(500),
            MaxDelay = TimeSpan.FromSeconds(10),
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsOutage(e)
                && Stopwatch.GetElapsedTime(args.Context.Properties.GetValue(CallStarted, 0L)) < RetryFor),
            DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception switch
            {
                RunPausedException paused when paused.RetryAfterMs > 0 => TimeSpan.FromMilliseconds(Math.Min(paused.RetryAfterMs, 10_000)),
                SiteUnavailableException { RetryAfterMs: > 0 } site => TimeSpan.FromMilliseconds(Math.Min(site.RetryAfterMs.Value, 10_000)),
                _ => (TimeSpan?)null,
            }),
            OnRetry = args =>
            {
                if (Interlocked.Exchange(ref _waiting, 1) == 0)
                    _warn?.Invoke($"the site cannot record now ({Describe(args.Outcome.Exception!)}); retrying for up to {Format(RetryFor)}");
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    public TimeSpan RetryFor { get; }

    /// <summary>The failures that pass: the site down or unreachable, or a run paused by an outage behind it.</summary>
    public static bool IsOutage(Exception e) => e is SiteUnavailableException or RunPausedException or TimeoutException or SocketException
        // Orleans' own: no gateway, the gateway's silo gone, a message rejected on the way (its subclasses are all transport).
        or Orleans.Runtime.OrleansException;

    /// <summary>One call to the run, waited through an outage; past <see cref="RetryFor"/> its last failure is thrown.</summary>
    public async Task<T> CallAsync<T>(Func<Task<T>> call, CancellationToken cancellation)
    {
        var context = ResilienceContextPool.Shared.Get(cancellation);
        context.Properties.Set(CallStarted, Stopwatch.GetTimestamp());
        try
        {
            var result = await _pipeline.ExecuteAsync(async _ => await call(), context);
            Interlocked.Exchange(ref _waiting, 0);
            return result;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    public Task CallAsync(Func<Task> call, CancellationToken cancellation) => CallAsync(async () => { await call(); return 0; }, cancellation);

    /// <summary>An outage in a few words: the first line of what the site or Orleans said.</summary>
    public static string Describe(Exception e) => e.Message.Split('\n', 2)[0].Trim();

    /// <summary>"2m" or "90s", as --retry-for takes it.</summary>
    public static string Format(TimeSpan span) => span.TotalSeconds >= 60 && span.TotalSeconds % 60 == 0 ? $"{span.TotalMinutes:0}m" : $"{span.TotalSeconds:0}s";

    /// <summary>Parses --retry-for: a number with s, m or h ("90s", "2m", "1h"), or plain seconds.</summary>
    public static TimeSpan? Parse(string text)
    {
        text = text.Trim();
        if (text.Length == 0) return null;
        double scale = char.ToLowerInvariant(text[^1]) switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 };
        string number = scale == 0 ? text : text[..^1];
        if (scale == 0) scale = 1;
        return double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value)
            && value >= 0 && double.IsFinite(value) && value * scale < TimeSpan.MaxValue.TotalSeconds
            ? TimeSpan.FromSeconds(value * scale) : null;
    }
}
