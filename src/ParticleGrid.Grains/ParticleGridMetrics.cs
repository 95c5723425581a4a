using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace ParticleGrid.Grains;

/// <summary>
/// ParticleGrid's own measurements (meter "ParticleGrid"), exported to Prometheus as particlegrid_*: what was
/// ingested, classified, found uncertain, failed or rejected, and how the workers batch and compute.
/// </summary>
public sealed class ParticleGridMetrics : IDisposable
{
    public const string MeterName = "ParticleGrid";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _ingested, _classified, _uncertain, _failed, _rejected;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _queueDelay, _inference;

    /// <summary>Runs of this silo in domain-shift alarm → the model sets they are in alarm for.</summary>
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _shiftAlarms = new();

    public ParticleGridMetrics()
    {
        _ingested = _meter.CreateCounter<long>("particlegrid.particles.ingested", "{particle}", "Particles recorded for a run (replays not counted)");
        _classified = _meter.CreateCounter<long>("particlegrid.particles.classified", "{particle}", "Particles the ensemble classified, by voted type");
        _uncertain = _meter.CreateCounter<long>("particlegrid.particles.uncertain", "{particle}", "Classified particles below the threshold or with disagreeing networks");
        _failed = _meter.CreateCounter<long>("particlegrid.particles.failed", "{particle}", "Particles recorded as failed (unreadable, or workers kept failing)");
        _rejected = _meter.CreateCounter<long>("particlegrid.particles.rejected", "{particle}", "Items of instrument exports refused before they reached a run, by reason");
        _batchSize = _meter.CreateHistogram<int>("particlegrid.batch.size", "{particle}", "Particles per batch a worker ran through the networks",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _queueDelay = _meter.CreateHistogram<double>("particlegrid.queue.delay", "s", "How long the oldest particle of a batch waited in the worker's queue",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _inference = _meter.CreateHistogram<double>("particlegrid.inference.duration", "s", "Forward pass of one batch through one network",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        // Labelled by model set only: the alarm is about what the set was trained on, and lots are unbounded in number
        // (a label per lot would grow the series without end); the run and lot pages name the runs.
        _meter.CreateObservableGauge("particlegrid.domain_shift.alarms", () =>
            _shiftAlarms.Values.SelectMany(sets => sets).GroupBy(set => set)
                .Select(g => new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("model_set", g.Key))).ToList(),
            "{run}", "Runs whose images are unlike their model set's training data (domain-shift alarm), by model set");
    }

    /// <summary>Notes the model sets a run is in domain-shift alarm for (none: not in alarm). True when an alarm started.</summary>
    public bool RunShift(string run, IReadOnlyList<string> modelSetsInAlarm)
    {
        if (modelSetsInAlarm.Count == 0)
        {
            _shiftAlarms.TryRemove(run, out _);
            return false;
        }
        var before = _shiftAlarms.TryGetValue(run, out var known) ? known : [];
        _shiftAlarms[run] = modelSetsInAlarm;
        return modelSetsInAlarm.Except(before).Any();
    }

    public void Ingested(string instrument, string lot, int count) =>
        _ingested.Add(count, new("instrument", instrument), new("lot", lot));

    public void Classified(string type, string instrument, string lot, bool uncertain)
    {
        _classified.Add(1, new("type", type), new("instrument", instrument), new("lot", lot));
        if (uncertain) _uncertain.Add(1, new("type", type), new("instrument", instrument), new("lot", lot));
    }

    public void Failed(string instrument, string lot) => _failed.Add(1, new("instrument", instrument), new("lot", lot));

    public void Rejected(string reason, int count = 1) => _rejected.Add(count, new KeyValuePair<string, object?>("reason", reason));

    public void BatchRan(string device, int size, TimeSpan oldestWait)
    {
        _batchSize.Record(size, new KeyValuePair<string, object?>("device", device));
        _queueDelay.Record(oldestWait.TotalSeconds, new KeyValuePair<string, object?>("device", device));
    }

    public void NetworkRan(string network, string device, string engine, TimeSpan duration) =>
        _inference.Record(duration.TotalSeconds, new("network", network), new("device", device), new("engine", engine));

    /// <summary>
    /// Gauges read when scraped: a worker's queue depth, and its active model set with the engine that runs it
    /// (value 1; version, engine and device as labels).
    /// </summary>
    public void ObserveWorker(Func<(string Device, string Engine, int Queued, string? ModelSet)> read)
    {
        _meter.CreateObservableGauge("particlegrid.worker.queue.depth", () =>
        {
            var (device, _, queued, _) = read();
            return new Measurement<int>(queued, new KeyValuePair<string, object?>("device", device));
        }, "{particle}", "Particles waiting in the worker's queue");
        _meter.CreateObservableGauge("particlegrid.model_set.info", () =>
        {
            var (device, engine, _, set) = read();
            return set is null ? [] : new[] { new Measurement<int>(1, new("version", set), new("device", device), new("engine", engine)) };
        }, null, "The model set a worker serves and the engine running it (value 1; version, engine and device are labels)");
    }

    public void Dispose() => _meter.Dispose();
}
