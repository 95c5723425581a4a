using ParticleGrid.Domain;

namespace ParticleGrid.Storage.Tests;

/// <summary>
/// The one repair of the ledger (<c>ingest --retry-failed</c>): particles an outage recorded as failed, before outages
/// paused runs, are removed with what they were counted in, so that they can be sent again; on SQLite and PostgreSQL.
/// </summary>
public sealed class RepairTests : IAsyncLifetime
{
    private readonly ScratchDatabases _databases = new("repair");

    public static TheoryData<string> Backends => ScratchDatabases.Backends;

    private const string OutageCause = "not classified after 3 worker failure(s): Silo_2: InvalidOperationException: CUDA error | no worker silo was in the cluster for 30 s";

    /// <summary>Particle i of a run: every 5th failed by an outage, every 7th (not 5th) failed for its image, the rest classified.</summary>
    private static ParticleRecord Particle(string run, int i)
    {
        bool outage = i % 5 == 0, corrupt = !outage && i % 7 == 0;
        double? ecd = i % 4 == 0 ? null : 2 + i % 60;
        string? failure = outage ? OutageCause : corrupt ? $"run {run} particle p{i:D4}: the image cannot be decoded (not a PNG)" : null;
        string? type = failure is null ? (i % 3 == 0 ? "unknown" : "protein") : null;
        return new ParticleRecord(run, $"p{i:D4}", "LOT-R", "FC-1", $"sha{i}", ecd, type, failure is null ? 0.95 : null, failure is null && i % 6 == 1, null,
            failure is null ? "set-1" : null, [], failure, DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000), null, null, [1, 2, (byte)i]);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task Infrastructure_failures_are_removed_once_with_their_tallies_and_content_failures_and_reviewed_particles_stay(string backend)
    {
        using var store = await _databases.OpenStoreAsync(backend);
        foreach (var run in new[] { "run-1", "run-2" }) await store.SaveRunAsync(new RunRecord(run, "LOT-R", "FC-1", 0.1, 100, DateTimeOffset.UtcNow));
        await store.AppendAsync([.. Enumerable.Range(0, 100).Select(i => Particle("run-1", i))]);
        await store.AppendAsync([.. Enumerable.Range(0, 100).Select(i => Particle("run-2", i))]);
        // A reviewer looked at two of the outage's particles: the audit trail names them, so they stay.
        await store.AppendReviewAsync("run-1", "p0000", "qa", "protein", "looked at the image", DateTimeOffset.UtcNow);
        await store.AppendReviewAsync("run-1", "p0005", "qa", "glass", "looked at the image", DateTimeOffset.UtcNow);
        Assert.Equal((100, 20 + 12), Counts(await store.CountRunAsync("run-1")));

        var removed = await store.RemoveInfrastructureFailuresAsync("run-1");

        var expected = Enumerable.Range(0, 100).Where(i => i % 5 == 0 && i is not 0 and not 5).Select(i => $"p{i:D4}").ToList();
        Assert.Equal(expected, removed);
        Assert.Equal((82, 2 + 12), Counts(await store.CountRunAsync("run-1")));    // two reviewed outage failures and the 12 corrupt images stay
        Assert.Equal((100, 32), Counts(await store.CountRunAsync("run-2")));       // another run is not touched
        Assert.Null(await store.GetImageAsync("run-1", "p0010"));
        Assert.NotNull(await store.GetImageAsync("run-1", "p0007"));
        var check = await store.CheckAggregatesAsync(rewrite: false);
        Assert.Empty(check.Differences);
        Assert.Equal(182, check.Particles);
        Assert.Equal(182, (await store.LotTallyAsync("LOT-R")).Cells.Values.Sum());   // both runs of the lot: 82 + 100

        // Once: a second repair finds nothing; the particles sent again are recorded classified and counted once.
        Assert.Empty(await store.RemoveInfrastructureFailuresAsync("run-1"));
        var resent = expected.Select(id => Particle("run-1", int.Parse(id[1..]) + 1) with { ParticleId = id, RunId = "run-1" })
            .Select(p => p with { Failure = null, Type = "protein", Probability = 0.9, ModelSetVersion = "set-1" }).ToList();
        Assert.Equal(18, await store.AppendAsync(resent));
        Assert.Equal((100, 14), Counts(await store.CountRunAsync("run-1")));
        Assert.Empty((await store.CheckAggregatesAsync(rewrite: false)).Differences);
    }

    private static (int Recorded, int Failed) Counts(RunCounts counts) => (counts.Recorded, counts.Failed);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _databases.DisposeAsync().AsTask();
}
