using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Hosting;

namespace ParticleGrid.Host.Hosting;

/// <summary>
/// Orleans' instruments that <c>promtool check metrics</c> flags, published again in the form Prometheus asks for:
/// durations in seconds instead of milliseconds, memory in bytes instead of megabytes, and label names in snake_case
/// (<c>connection_direction</c>, not <c>ConnectionDirection</c>). The originals are dropped by a view
/// (<see cref="MetricViews"/>), so each series is exported once, under the base unit's name
/// (<c>orleans_storage_write_latency_seconds</c>, <c>orleans_runtime_available_memory_bytes</c>).
/// </summary>
/// <remarks>
/// An OpenTelemetry view can rename an instrument or drop a label but cannot convert its values or rename a label
/// (a renamed <c>_milliseconds</c> histogram would still hold milliseconds), so a listener reads each measurement of
/// the flagged instruments and records it, converted, on an instrument of its own meter (<see cref="MeterName"/>).
/// Measurements pushed by Orleans (histograms, counters) are passed on as they come; observable ones (Orleans' memory
/// gauges) are read when the exporter collects. Only this host's Orleans meter is read (its <see cref="IMeterFactory"/>),
/// and Orleans' process-wide one, so two hosts in one process do not count each other's calls.
/// Orleans reports memory in whole megabytes (MiB), so the bytes are multiples of 1,048,576.
/// </remarks>
public sealed class OrleansMetricsInBaseUnits : IHostedService, IDisposable
{
    public const string MeterName = "ParticleGrid.Orleans";

    private const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>Orleans' instruments whose labels are camelCase (their units are base units already).</summary>
    private static readonly HashSet<string> CamelCaseLabelled = ["orleans-messaging-sent-messages-size", "orleans-messaging-received-messages-size"];

    private static readonly ConcurrentDictionary<string, string> SnakeCase = new(StringComparer.Ordinal);

    private readonly IMeterFactory _meters;
    private readonly Meter _meter;
    private readonly MeterListener _listener = new();
    private readonly List<IDisposable> _observers = [];

    public OrleansMetricsInBaseUnits(IMeterFactory meters)
    {
        _meters = meters;
        _meter = meters.Create(MeterName);
    }

    /// <summary>
    /// The unit an Orleans instrument is published again in and the factor from its own, or null when it passes
    /// promtool as it is. <see cref="MetricViews"/> drops the instruments this returns a conversion for.
    /// </summary>
    public static (string Unit, double Factor)? Conversion(Instrument instrument)
    {
        if (instrument.Meter.Name != OrleansMeter) return null;
        return instrument.Unit switch
        {
            "ms" => ("s", 1e-3),
            "MB" => ("By", 1024.0 * 1024.0),   // Orleans divides bytes by 1024 twice
            _ when CamelCaseLabelled.Contains(instrument.Name) => (instrument.Unit ?? "", 1.0),
            _ => null,
        };
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (Conversion(instrument) is not { } conversion) return;
            if (instrument.Meter.Scope is { } scope && !ReferenceEquals(scope, _meters)) return;   // another host's Orleans
            Republish(instrument, conversion.Unit, conversion.Factor);
        };
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((Recorder)state!)(value, tags));
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((Recorder)state!)(value, tags));
        _listener.SetMeasurementEventCallback<float>((_, value, tags, state) => ((Recorder)state!)(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((Recorder)state!)(value, tags));
        _listener.Start();
        return Task.CompletedTask;
    }

    private void Republish(Instrument source, string unit, double factor)
    {
        string description = string.IsNullOrWhiteSpace(source.Description) ? $"Orleans {source.Name.Replace('-', ' ')}" : source.Description;
        switch (source)
        {
            case Histogram<int> or Histogram<long> or Histogram<float> or Histogram<double>:
            {
                // Orleans' own buckets (its advice, else OpenTelemetry's default ones, which are meant for
                // milliseconds), converted as the values are.
                var boundaries = Boundaries(source)?.Select(b => b * factor).ToArray();
                var histogram = _meter.CreateHistogram<double>(source.Name, unit, description, tags: null,
                    advice: boundaries is null ? null : new InstrumentAdvice<double> { HistogramBucketBoundaries = boundaries });
                _listener.EnableMeasurementEvents(source, Pass((value, tags) => histogram.Record(value * factor, tags)));
                break;
            }
            case Counter<int> or Counter<long> or Counter<float> or Counter<double>:
            {
                var counter = _meter.CreateCounter<double>(source.Name, unit, description);
                _listener.EnableMeasurementEvents(source, Pass((value, tags) => counter.Add(value * factor, tags)));
                break;
            }
            case UpDownCounter<int> or UpDownCounter<long> or UpDownCounter<float> or UpDownCounter<double>:
            {
                var counter = _meter.CreateUpDownCounter<double>(source.Name, unit, description);
                _listener.EnableMeasurementEvents(source, Pass((value, tags) => counter.Add(value * factor, tags)));
                break;
            }
            default:
                if (source.IsObservable) RepublishObservable(source, unit, factor, description);
                break;
        }
    }

    /// <summary>An observable instrument is read, through a listener of its own, whenever the exporter reads ours.</summary>
    private void RepublishObservable(Instrument source, string unit, double factor, string description)
    {
        var read = new List<Measurement<double>>();
        var listener = new MeterListener();
        void Collect(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) => read.Add(new Measurement<double>(value * factor, Renamed(tags)));
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) => Collect(value, tags));
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => Collect(value, tags));
        listener.SetMeasurementEventCallback<float>((_, value, tags, _) => Collect(value, tags));
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) => Collect(value, tags));
        listener.EnableMeasurementEvents(source);
        listener.Start();
        lock (_observers) _observers.Add(listener);

        IEnumerable<Measurement<double>> Observe()
        {
            lock (read)
            {
                read.Clear();
                listener.RecordObservableInstruments();
                return [.. read];
            }
        }
        string type = source.GetType().Name;
        if (type.StartsWith("ObservableCounter", StringComparison.Ordinal)) _meter.CreateObservableCounter(source.Name, Observe, unit, description);
        else if (type.StartsWith("ObservableUpDownCounter", StringComparison.Ordinal)) _meter.CreateObservableUpDownCounter(source.Name, Observe, unit, description);
        else _meter.CreateObservableGauge(source.Name, Observe, unit, description);
    }

    private static IReadOnlyList<double>? Boundaries(Instrument source) => source switch
    {
        Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
        Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
        Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
        Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
        _ => null,
    } ?? OpenTelemetryDefaultBoundaries;

    /// <summary>OpenTelemetry's default explicit buckets, which Orleans' histograms without advice are exported with.</summary>
    private static readonly double[] OpenTelemetryDefaultBoundaries = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    /// <summary>What a measurement of a flagged instrument is handed to (the listener's state for that instrument).</summary>
    private delegate void Recorder(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags);

    private static Recorder Pass(Action<double, TagList> record) => (value, tags) => record(value, Renamed(tags));

    private static TagList Renamed(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var renamed = new TagList();
        foreach (var tag in tags) renamed.Add(SnakeCase.GetOrAdd(tag.Key, ToSnakeCase), tag.Value);
        return renamed;
    }

    /// <summary>"ConnectionDirection" → "connection_direction"; a name in snake_case already stays as it is.</summary>
    public static string ToSnakeCase(string name)
    {
        var snake = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && name[i - 1] != '_' && (!char.IsUpper(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1])))) snake.Append('_');
                snake.Append(char.ToLowerInvariant(c));
            }
            else snake.Append(c == '.' || c == '-' ? '_' : c);
        }
        return snake.ToString();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _listener.Dispose();
        lock (_observers) foreach (var observer in _observers) observer.Dispose();
    }
}
