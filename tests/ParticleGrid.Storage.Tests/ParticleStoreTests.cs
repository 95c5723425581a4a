using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Storage.Tests;

/// <summary>The same contract on SQLite (embedded) and PostgreSQL (cluster).</summary>
public sealed class ParticleStoreTests : IAsyncLifetime
{
    private readonly ScratchDatabases _databases = new("store");

    public static TheoryData<string> Backends => ScratchDatabases.Backends;

    private async Task<SqlParticleStore> OpenAsync(string backend, VerdictPolicy? verdict = null)
    {
        var store = await _databases.OpenStoreAsync(backend, verdict);
        await store.EnsureCreatedAsync();   // every silo calls it at every start
        return store;
    }

    private static ParticleRecord Particle(string run, string id, string? type = "protein", double? ecd = 12, bool uncertain = false, string? failure = null) =>
        new(run, id, "LOT-1", "FC-1", new string('a', 64), ecd, failure is null ? type : null, failure is null ? 0.97 : null, uncertain,
            uncertain ? "disagreement" : null, failure is null ? "set-0123456789ab" : null,
            failure is null ? [new ModelVote("resnet50", "resnet50@0123456789ab", [0.01f, 0.01f, 0.01f, 0.97f], "protein")] : [], failure,
            DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000));

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_particle_is_recorded_once_however_often_it_is_appended(string backend)
    {
        using var store = await OpenAsync(backend);
        await store.SaveRunAsync(new RunRecord("run-1", "LOT-1", "FC-1", 0.5, 3, DateTimeOffset.UtcNow));
        var batch = new[] { Particle("run-1", "p1"), Particle("run-1", "p2", "glass", 30, uncertain: true), Particle("run-1", "p3", failure: "corrupt image") };

        Assert.Equal(3, await store.AppendAsync(batch));
        Assert.Equal(0, await store.AppendAsync(batch));
        Assert.Equal(1, await store.AppendAsync([Particle("run-1", "p3"), Particle("run-1", "p4")]));  // p3 stays failed

        Assert.Equal(new RunCounts(4, 3, 1, 1), await store.CountRunAsync("run-1"));
        Assert.Equal(["p1", "p3"], await store.StoredParticleIdsAsync("run-1", ["p1", "p3", "p9"]));
        var stored = await store.ParticlesOfRunAsync("run-1");
        Assert.Equal(batch[0], stored[0] with { Votes = batch[0].Votes });
        Assert.Equal(batch[0].Votes[0].Probabilities, stored[0].Votes[0].Probabilities);
        Assert.Equal("corrupt image", stored[2].Failure);

        var counted = await store.CountedParticlesOfLotAsync("LOT-1");
        Assert.Equal(4, counted.Count);
        Assert.Contains(new CountedParticle(ParticleType.Glass, 30, true), counted);
        Assert.Contains(new CountedParticle(null, 12, false), counted);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_run_id_names_one_run_and_lots_can_be_described_again(string backend)
    {
        using var store = await OpenAsync(backend);
        var run = new RunRecord("run-1", "LOT-1", "FC-1", null, null, DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000));
        await store.SaveRunAsync(run);
        await store.SaveRunAsync(run);
        var conflict = await Assert.ThrowsAsync<StoreConflictException>(() => store.SaveRunAsync(run with { LotId = "LOT-2" }));
        Assert.Contains("already recorded for lot LOT-1", conflict.Message);
        Assert.Equal(run, await store.GetRunAsync("run-1"));
        Assert.Equal([run], await store.RunsOfLotAsync("LOT-1"));
        Assert.Null(await store.GetRunAsync("run-2"));

        // A lot's description is set once: later runs send the same values (or none) and may add what was unset.
        await store.SaveLotAsync(new LotRecord("LOT-1", 2, null));
        await store.SaveLotAsync(new LotRecord("LOT-1", null, "mAb-1"));
        await store.SaveLotAsync(new LotRecord("LOT-1", 2, "mAb-1"));
        await store.SaveLotAsync(new LotRecord("LOT-1", 2, null));
        Assert.Equal(new LotRecord("LOT-1", 2, "mAb-1"), await store.GetLotAsync("LOT-1"));
        Assert.Null(await store.GetLotAsync("LOT-2"));
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_run_is_in_progress_until_completed_and_keeps_its_first_completion(string backend)
    {
        using var store = await OpenAsync(backend);
        await store.SaveLotAsync(new LotRecord("LOT-1", 1, null));
        await store.SaveRunAsync(new RunRecord("run-1", "LOT-1", "FC-1", 1, null, DateTimeOffset.UtcNow));
        await store.SaveRunAsync(new RunRecord("run-2", "LOT-1", "FC-1", 1, null, DateTimeOffset.UtcNow));
        await store.AppendAsync([Particle("run-1", "p1"), Particle("run-2", "p1")]);

        var first = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);
        await store.CompleteRunAsync("run-1", first);
        await store.CompleteRunAsync("run-1", first.AddHours(1));
        Assert.Equal(first, (await store.GetRunAsync("run-1"))!.CompletedUtc);
        Assert.Null((await store.GetRunAsync("run-2"))!.CompletedUtc);

        var profile = (await new LotReads(store).ProfileAsync("LOT-1"))!;
        Assert.Equal(1, profile.RunsInProgress);
        Assert.Equal(VerdictOutcome.NotAssessable, profile.Verdict.Outcome);
        Assert.Contains("1 of 2 run(s) still in progress", profile.Verdict.Reason);

        await store.CompleteRunAsync("run-2", first);
        Assert.Equal(VerdictOutcome.Pass, (await new LotReads(store).ProfileAsync("LOT-1"))!.Verdict.Outcome);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task Domain_shift_counts_are_per_run_and_model_set_with_the_sets_reference_and_a_lot_in_alarm_is_not_assessable(string backend)
    {
        using var store = await OpenAsync(backend, new VerdictPolicy { MaxUnknownShare = 1 });
        await store.SaveLotAsync(new LotRecord("LOT-1", 1, null));
        await store.SaveRunAsync(new RunRecord("run-1", "LOT-1", "FC-1", 1, null, DateTimeOffset.UtcNow));
        await store.SaveRunAsync(new RunRecord("run-2", "LOT-1", "FC-2", 1, null, DateTimeOffset.UtcNow));
        // run-1: 60 particles, 54 unknown (90 %); run-2: 60 particles, 2 unknown; failed particles have no score and are left out.
        await store.AppendAsync([.. Enumerable.Range(0, 60).Select(i => Particle("run-1", $"p{i}", i < 54 ? "unknown" : "protein")),
            .. Enumerable.Range(0, 60).Select(i => Particle("run-2", $"p{i}", i < 2 ? "unknown" : "protein")), Particle("run-2", "broken", failure: "corrupt image")]);
        await store.CompleteRunAsync("run-1", DateTimeOffset.UtcNow);
        await store.CompleteRunAsync("run-2", DateTimeOffset.UtcNow);

        Assert.Equal([new DomainShiftCounts("run-1", "set-0123456789ab", 60, 54, null)], await store.DomainShiftCountsOfRunAsync("run-1"));
        // Without a reference the runs cannot be compared: no alarm, and the lot is judged on its counts alone.
        Assert.Null((await new LotReads(store).ProfileAsync("LOT-1"))!.DomainShiftAlarm);

        await store.SaveModelSetReferenceAsync("set-0123456789ab", 0.05);
        await store.SaveModelSetReferenceAsync("set-0123456789ab", 0.04); // registered again: the latest reference holds
        Assert.Equal([new DomainShiftCounts("run-1", "set-0123456789ab", 60, 54, 0.04), new DomainShiftCounts("run-2", "set-0123456789ab", 60, 2, 0.04)],
            await store.DomainShiftCountsOfLotAsync("LOT-1"));
        var profile = (await new LotReads(store).ProfileAsync("LOT-1"))!;
        Assert.Equal(DomainShift.Message, profile.DomainShiftAlarm);
        Assert.Equal(["run-1"], profile.DomainShift!.Where(c => c.Alarm).Select(c => c.RunId));
        Assert.Equal(VerdictOutcome.NotAssessable, profile.Verdict.Outcome);
        Assert.Contains("1 of 2 run(s): " + DomainShift.Message, profile.Verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_written_before_completions_were_kept_gets_the_column_and_reads_its_runs_as_in_progress()
    {
        string file = Path.Combine(_databases.Folder, "old.db");
        Directory.CreateDirectory(_databases.Folder);
        await using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=false"))
        {
            await old.OpenAsync();
            await using var create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE runs (run_id TEXT PRIMARY KEY, lot_id TEXT NOT NULL, instrument_id TEXT NOT NULL,
                    analysed_volume_ml DOUBLE PRECISION NULL, expected_particles INTEGER NULL, started_unix_ms BIGINT NOT NULL);
                INSERT INTO runs VALUES ('run-old', 'LOT-1', 'FC-1', 1, NULL, 1790000000000);
                """;
            await create.ExecuteNonQueryAsync();
        }
        using var store = SqlParticleStore.Sqlite(file);
        await store.EnsureCreatedAsync();
        Assert.Null((await store.GetRunAsync("run-old"))!.CompletedUtc);
        await store.CompleteRunAsync("run-old", DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_001_000));
        Assert.NotNull((await store.GetRunAsync("run-old"))!.CompletedUtc);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task Concurrent_replays_of_one_batch_record_each_particle_once(string backend)
    {
        using var store = await OpenAsync(backend);
        var batch = Enumerable.Range(0, 50).Select(i => Particle("run-c", $"p{i:D3}")).ToArray();
        var appended = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => store.AppendAsync(batch))));
        Assert.Equal(50, appended.Sum());
        Assert.Equal(50, (await store.CountRunAsync("run-c")).Recorded);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _databases.DisposeAsync().AsTask();
}
