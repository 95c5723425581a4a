using BenchmarkDotNet.Attributes;
using ParticleGrid.Grains.Workers;
using ParticleGrid.Serving;

namespace ParticleGrid.Benchmarks;

/// <summary>
/// <see cref="DynamicBatcher{TItem, TResult}"/>: the round trip of 1000 items through the queue, the batching thread
/// and back to the callers, in batches of at most 32, with a batch function that does nothing (it hands the items
/// back). What it measures is the batcher's own cost per particle, which a worker pays on top of the networks.
/// The queue delay is zero, so a part batch runs as soon as the batching thread sees it and no benchmark waits on a
/// timer (the default delay is 20 ms).
/// </summary>
[MemoryDiagnoser]
public class DynamicBatcherBenchmarks
{
    private const int Items = 1000;
    private const int BatchSize = 32;

    private readonly int[] _items = [.. Enumerable.Range(0, Items)];
    private int[][] _requests = [];
    private DynamicBatcher<int, int> _batcher = null!;

    [GlobalSetup]
    public void Setup()
    {
        _batcher = new DynamicBatcher<int, int>(new BatchingOptions(BatchSize, TimeSpan.Zero, QueueCapacity: 1024), batch => batch, "benchmark-batcher");
        _requests = [.. _items.Chunk(BatchSize)];
    }

    [GlobalCleanup]
    public void Cleanup() => _batcher.Dispose();

    /// <summary>One request of 1000 items, queued at once: 31 batches of 32 and one of 8.</summary>
    [Benchmark(Baseline = true)]
    public async Task<int> OneRequestOf1000()
    {
        var results = await _batcher.EnqueueAsync("run-1", _items);
        return results.Count;
    }

    /// <summary>The same 1000 items as 32 requests of up to 32 from 4 runs (lanes), all queued before any is awaited.</summary>
    [Benchmark]
    public async Task<int> RequestsOf32From4Runs()
    {
        var pending = new Task<IReadOnlyList<int>>[_requests.Length];
        for (int i = 0; i < _requests.Length; i++) pending[i] = _batcher.EnqueueAsync(Lanes[i % Lanes.Length], _requests[i]);
        int count = 0;
        foreach (var results in await Task.WhenAll(pending)) count += results.Count;
        return count;
    }

    private static readonly string[] Lanes = ["run-1", "run-2", "run-3", "run-4"];
}
