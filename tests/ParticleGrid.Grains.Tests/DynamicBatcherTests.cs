using Microsoft.Extensions.DependencyInjection;
using ParticleGrid.Grains.Workers;
using ParticleGrid.Serving;

namespace ParticleGrid.Grains.Tests;

public class DynamicBatcherTests
{
    /// <summary>A batch function that records each batch and can be held, so the queue fills while it runs.</summary>
    private sealed class RecordingDevice
    {
        public readonly List<string[]> Batches = [];
        public readonly ManualResetEventSlim Released = new(initialState: true);
        public readonly SemaphoreSlim Started = new(0);

        public IReadOnlyList<string> Run(IReadOnlyList<string> items)
        {
            lock (Batches) Batches.Add([.. items]);
            Started.Release();
            Released.Wait(TimeSpan.FromSeconds(30));
            return [.. items.Select(i => i.ToUpperInvariant())];
        }
    }

    /// <summary>
    /// The worker runtime is registered as itself and as the silo's IWorkerRuntime, and a DI container disposes what
    /// each registration made: the runtime, its batcher and its engines must take a second Dispose quietly.
    /// </summary>
    [Fact]
    public void The_worker_runtime_survives_its_container_disposing_it_twice()
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(new WorkerOptions { Device = "cpu" }).AddSingleton<ParticleGridMetrics>();
        new WorkerRuntime().AddTo(services);
        var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<IWorkerRuntime>();
        Assert.Same(runtime, provider.GetRequiredService<EnsembleRuntime>());
        Assert.False(runtime.IsReady);

        provider.Dispose(); // disposes the one instance twice
    }

    [Fact]
    public void A_batcher_disposed_twice_stays_quiet()
    {
        var batcher = new DynamicBatcher<string, string>(new BatchingOptions(4, TimeSpan.FromMilliseconds(5), 16), items => items);
        batcher.Dispose();
        batcher.Dispose();
    }

    [Fact]
    public async Task A_full_batch_runs_at_once_and_results_come_back_in_order()
    {
        var device = new RecordingDevice();
        using var batcher = new DynamicBatcher<string, string>(new BatchingOptions(4, TimeSpan.FromMinutes(1), 16), device.Run);

        var results = await batcher.EnqueueAsync("run-1", ["a", "b", "c", "d"]).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["A", "B", "C", "D"], results);
        Assert.Single(device.Batches);
    }

    [Fact]
    public async Task A_part_batch_runs_when_the_oldest_particle_has_waited_the_maximum_delay()
    {
        var device = new RecordingDevice();
        using var batcher = new DynamicBatcher<string, string>(new BatchingOptions(64, TimeSpan.FromMilliseconds(30), 128), device.Run);

        var results = await batcher.EnqueueAsync("run-1", ["x", "y", "z"]).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["X", "Y", "Z"], results);
        Assert.Equal(3, Assert.Single(device.Batches).Length);
    }

    [Fact]
    public async Task Batches_take_the_runs_in_turn_so_a_large_run_cannot_starve_a_small_one()
    {
        var device = new RecordingDevice();
        using var batcher = new DynamicBatcher<string, string>(new BatchingOptions(4, TimeSpan.FromMilliseconds(5), 64), device.Run);
        device.Released.Reset();

        var large = batcher.EnqueueAsync("large", [.. Enumerable.Range(0, 20).Select(i => $"l{i}")]);
        Assert.True(await device.Started.WaitAsync(TimeSpan.FromSeconds(10)));   // the first batch (4 of "large") is running
        var small = batcher.EnqueueAsync("small", ["s0", "s1"]);
        device.Released.Set();
        await Task.WhenAll(large, small).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["l0", "l1", "l2", "l3"], device.Batches[0]);
        Assert.Equal(2, device.Batches[1].Count(i => i.StartsWith('s')));    // the next batch already mixes both runs
        Assert.Equal(22, device.Batches.Sum(b => b.Length));
    }

    [Fact]
    public async Task A_full_queue_refuses_the_whole_request_with_a_retry_time_and_takes_nothing()
    {
        var device = new RecordingDevice();
        using var batcher = new DynamicBatcher<string, string>(new BatchingOptions(2, TimeSpan.FromMilliseconds(1), 4), device.Run);
        device.Released.Reset();
        var first = batcher.EnqueueAsync("run-1", ["a", "b"]);
        Assert.True(await device.Started.WaitAsync(TimeSpan.FromSeconds(10)));
        var second = batcher.EnqueueAsync("run-1", ["c", "d", "e", "f"]);   // fills the queue while "a b" runs

        var refused = Assert.Throws<BatcherFullException>(() => { _ = batcher.EnqueueAsync("run-2", ["g"]); });   // thrown at once: the caller is told before anything waits
        Assert.InRange(refused.RetryAfterMs, 20, 10_000);
        Assert.Contains("retry after", refused.Message);
        Assert.Equal(4, batcher.Queued);

        device.Released.Set();
        Assert.Equal(["C", "D", "E", "F"], await second.WaitAsync(TimeSpan.FromSeconds(10)));
        await first;
        Assert.DoesNotContain(device.Batches.SelectMany(b => b), i => i == "g");
        Assert.Equal(["G"], await batcher.EnqueueAsync("run-2", ["g"]).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_request_larger_than_the_queue_is_an_error_not_a_wait()
    {
        using var batcher = new DynamicBatcher<string, string>(new BatchingOptions(2, null, 4), items => items);
        var error = Assert.Throws<ArgumentException>(() => { _ = batcher.EnqueueAsync("run-1", ["1", "2", "3", "4", "5"]); });
        Assert.Contains("send smaller batches", error.Message);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_failing_batch_fails_the_requests_in_it_and_the_batcher_goes_on()
    {
        int calls = 0;
        using var batcher = new DynamicBatcher<string, string>(new BatchingOptions(2, TimeSpan.FromMilliseconds(1), 8), items =>
            Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("device lost") : items);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.EnqueueAsync("run-1", ["a", "b"]).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("device lost", error.Message);
        Assert.Equal(["c"], await batcher.EnqueueAsync("run-1", ["c"]).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Stopping_fails_what_still_waits_instead_of_leaving_callers_hanging()
    {
        var device = new RecordingDevice();
        var batcher = new DynamicBatcher<string, string>(new BatchingOptions(1, TimeSpan.FromMilliseconds(1), 8), device.Run);
        device.Released.Reset();
        var running = batcher.EnqueueAsync("run-1", ["a"]);
        Assert.True(await device.Started.WaitAsync(TimeSpan.FromSeconds(10)));
        var waiting = batcher.EnqueueAsync("run-1", ["b"]);
        var disposing = Task.Run(batcher.Dispose);
        SpinWait.SpinUntil(() => batcher.IsStopping, TimeSpan.FromSeconds(10));
        device.Released.Set();
        await disposing.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["A"], await running);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(8, 4)]
    public void Nonsense_options_are_refused(int maxBatch, int capacity) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchingOptions(maxBatch, null, capacity).Validate());
}
