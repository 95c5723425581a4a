using System.Diagnostics;

using ParticleGrid.Grains;
using ParticleGrid.Grains.Workers;

namespace ParticleGrid.Serving;

/// <summary>The batcher's queue cannot take a request now; nothing of it was taken.</summary>
public sealed class BatcherFullException(int queued, int capacity, int requested, int retryAfterMs)
    : Exception($"the worker's queue holds {queued} of {capacity} particles and cannot take {requested} more; retry after {retryAfterMs} ms")
{
    public int RetryAfterMs { get; } = retryAfterMs;
}

/// <summary>
/// Dynamic batching for one device: requests from many callers ("lanes": one per run) wait in a bounded queue; one
/// background thread takes a batch when <see cref="BatchingOptions.MaxBatchSize"/> items wait or the oldest has waited
/// <see cref="BatchingOptions.MaxQueueDelay"/>, whichever comes first. A batch takes items from the lanes in turn, so a
/// large run cannot starve a small one. The batch function runs on that thread only, never on a caller's.
/// </summary>
public sealed class DynamicBatcher<TItem, TResult> : IDisposable
{
    private sealed class Request(int count)
    {
        public readonly TResult[] Results = new TResult[count];
        public readonly TaskCompletionSource<IReadOnlyList<TResult>> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Remaining = count;
    }

    private readonly record struct Waiting(TItem Item, Request Request, int Index, long EnqueuedTicks);

    private readonly BatchingOptions _options;
    private readonly Func<IReadOnlyList<TItem>, IReadOnlyList<TResult>> _process;
    private readonly object _gate = new();
    private readonly LinkedList<(string Lane, Queue<Waiting> Items)> _lanes = new();
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private int _queued;
    private double _itemsPerSecond;

    private readonly Action<int, TimeSpan>? _onBatch;

    /// <param name="onBatch">Told each batch's size and how long its oldest item waited (for metrics).</param>
    public DynamicBatcher(BatchingOptions options, Func<IReadOnlyList<TItem>, IReadOnlyList<TResult>> process, string name = "batcher",
        Action<int, TimeSpan>? onBatch = null)
    {
        options.Validate();
        _options = options;
        _process = process;
        _onBatch = onBatch;
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public int Queued { get { lock (_gate) return _queued; } }

    public int Capacity => _options.QueueCapacity;

    public long ProcessedItems { get; private set; }

    public long Batches { get; private set; }

    internal bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>Queues a lane's items and completes with their results, in the same order.</summary>
    /// <exception cref="BatcherFullException">The queue cannot take all of them now (none is taken).</exception>
    public Task<IReadOnlyList<TResult>> EnqueueAsync(string lane, IReadOnlyList<TItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) return Task.FromResult<IReadOnlyList<TResult>>([]);
        if (items.Count > _options.QueueCapacity)
        {
            throw new ArgumentException($"a request of {items.Count} particles is larger than the worker's whole queue ({_options.QueueCapacity}); send smaller batches");
        }
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);

        var request = new Request(items.Count);
        lock (_gate)
        {
            if (_queued + items.Count > _options.QueueCapacity)
            {
                throw new BatcherFullException(_queued, _options.QueueCapacity, items.Count, RetryAfterMs(_queued + items.Count - _options.QueueCapacity));
            }
            var queue = _lanes.FirstOrDefault(l => l.Lane == lane).Items;
            if (queue is null)
            {
                queue = new Queue<Waiting>();
                _lanes.AddLast((lane, queue));
            }
            long now = Stopwatch.GetTimestamp();
            for (int i = 0; i < items.Count; i++) queue.Enqueue(new Waiting(items[i], request, i, now));
            _queued += items.Count;
            Monitor.PulseAll(_gate);
        }
        return request.Done.Task;
    }

    /// <summary>How long until the queue has drained enough for this many more, at the throughput seen so far.</summary>
    private int RetryAfterMs(int excess)
    {
        double perSecond = _itemsPerSecond > 0 ? _itemsPerSecond : 50;
        return (int)Math.Clamp(1000.0 * Math.Max(excess, _options.MaxBatchSize) / perSecond, 20, 10_000);
    }

    private void Loop()
    {
        while (true)
        {
            List<Waiting> batch;
            lock (_gate)
            {
                while (!_stopping.IsCancellationRequested && !BatchIsDue()) Monitor.Wait(_gate, WaitTime());
                if (_stopping.IsCancellationRequested) break;
                batch = TakeBatch();
            }
            Run(batch);
        }
        FailAll(new ObjectDisposedException(nameof(DynamicBatcher<TItem, TResult>), "the worker is shutting down"));
    }

    private bool BatchIsDue() =>
        _queued >= _options.MaxBatchSize || (_queued > 0 && Stopwatch.GetElapsedTime(OldestTicks()) >= _options.Delay);

    private TimeSpan WaitTime() =>
        _queued == 0 ? TimeSpan.FromSeconds(1) : _options.Delay - Stopwatch.GetElapsedTime(OldestTicks()) + TimeSpan.FromMilliseconds(1);

    private long OldestTicks() => _lanes.Where(l => l.Items.Count > 0).Min(l => l.Items.Peek().EnqueuedTicks);

    /// <summary>Takes one item from each lane in turn; the lane after the last one served goes first next time.</summary>
    private List<Waiting> TakeBatch()
    {
        var batch = new List<Waiting>(_options.MaxBatchSize);
        while (batch.Count < _options.MaxBatchSize && _queued > 0)
        {
            var node = _lanes.First!;
            _lanes.RemoveFirst();
            if (node.Value.Items.Count == 0) continue;   // an emptied lane is dropped
            batch.Add(node.Value.Items.Dequeue());
            _queued--;
            _lanes.AddLast(node.Value);
        }
        return batch;
    }

    private void Run(List<Waiting> batch)
    {
        long started = Stopwatch.GetTimestamp();
        _onBatch?.Invoke(batch.Count, Stopwatch.GetElapsedTime(batch.Min(w => w.EnqueuedTicks), started));
        try
        {
            var results = _process([.. batch.Select(w => w.Item)]);
            if (results.Count != batch.Count) throw new InvalidOperationException($"the batch function returned {results.Count} results for {batch.Count} items");
            for (int i = 0; i < batch.Count; i++)
            {
                var (_, request, index, _) = batch[i];
                request.Results[index] = results[i];
                if (Interlocked.Decrement(ref request.Remaining) == 0) request.Done.TrySetResult(request.Results);
            }
        }
        catch (Exception e)
        {
            foreach (var request in batch.Select(w => w.Request).Distinct()) request.Done.TrySetException(e);
        }
        double seconds = Math.Max(Stopwatch.GetElapsedTime(started).TotalSeconds, 1e-6);
        _itemsPerSecond = _itemsPerSecond == 0 ? batch.Count / seconds : 0.8 * _itemsPerSecond + 0.2 * batch.Count / seconds;
        ProcessedItems += batch.Count;
        Batches++;
    }

    private void FailAll(Exception e)
    {
        lock (_gate)
        {
            foreach (var (_, items) in _lanes)
            {
                foreach (var waiting in items) waiting.Request.Done.TrySetException(e);
            }
            _lanes.Clear();
            _queued = 0;
        }
    }

    /// <summary>Stops the batch thread; safe to call twice (a DI container disposes a service once per registration).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        lock (_gate)
        {
            _stopping.Cancel();
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
        _stopping.Dispose();
    }
}
