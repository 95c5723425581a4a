using Microsoft.Data.Sqlite;
using Npgsql;
using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Storage.Tests;

/// <summary>
/// The row the store keeps per lot (lot_aggregates): its verdict judged again in the transaction of every change to its
/// inputs and at a start with other settings, equal to a recomputation from the particles (<c>store verify</c>), and the
/// lot list paged and filtered on it in SQL. On SQLite and PostgreSQL.
/// </summary>
public sealed class LotAggregateTests : IAsyncLifetime
{
    private readonly ScratchDatabases _databases = new("lots");

    public static TheoryData<string> Backends => ScratchDatabases.Backends;

    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);

    private static ParticleRecord Particle(string lot, string run, string id, string type = "protein", double? ecd = 30, string modelSet = "set-x") =>
        new(run, id, lot, "FC-1", new string('a', 64), ecd, type, 0.97, false, null, modelSet, [], null, T0);

    /// <summary>
    /// The lot's kept row against what a reader judges now (the profile <see cref="LotReads"/> serves) and against a
    /// recomputation from the particles (<c>store verify</c>): the same verdict and reasons, no difference anywhere.
    /// </summary>
    private static async Task<LotSummary> AssertKeptAsync(SqlParticleStore store, string lot, VerdictOutcome expected)
    {
        var reads = new LotReads(store);
        var kept = (await reads.SummaryAsync(lot))!;
        var profile = (await reads.ProfileAsync(lot))!;
        Assert.Equal(expected, kept.Verdict);
        Assert.Equal(profile.Verdict.Outcome, kept.Verdict);
        Assert.Equal(profile.Verdict.Reasons, kept.VerdictReasons);
        Assert.Equal((profile.Particles, profile.Runs, profile.RunsInProgress), (kept.Particles, kept.Runs, kept.RunsInProgress));
        Assert.Equal(SqlParticleStore.VerdictFingerprint(store.VerdictPolicy), kept.VerdictConfiguration);
        Assert.Empty((await store.CheckAggregatesAsync(rewrite: false)).Differences);
        return kept;
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task The_stored_verdict_is_judged_again_with_every_change_to_its_inputs(string backend)
    {
        // Unknown particles are allowed here, so that the domain-shift alarm alone decides the last step.
        using var store = await OpenAsync(backend, new VerdictPolicy { MaxUnknownShare = 1 });

        // A lot described before any run: nothing measured yet.
        await store.SaveLotAsync(new LotRecord("LOT-V", 1, "mAb-9 vial"));
        var described = await AssertKeptAsync(store, "LOT-V", VerdictOutcome.NotAssessable);
        Assert.Contains(described.VerdictReasons, r => r.StartsWith("no run of this lot", StringComparison.Ordinal));

        // A run in progress, with particles: the counts are not final.
        await store.SaveRunAsync(new RunRecord("run-1", "LOT-V", "FC-1", 1, null, T0));
        await store.AppendAsync([.. Enumerable.Range(0, 10).Select(i => Particle("LOT-V", "run-1", $"p{i}"))]);
        var inProgress = await AssertKeptAsync(store, "LOT-V", VerdictOutcome.NotAssessable);
        Assert.Equal((10, 1), (inProgress.Particles, inProgress.RunsInProgress));

        // Run completion: 10 particles >= 25 um in 1 mL of a 1 mL container is within 600 per container.
        await store.CompleteRunAsync("run-1", T0.AddMinutes(5));
        await AssertKeptAsync(store, "LOT-V", VerdictOutcome.Pass);

        // The lot's volume (an admin's audited change; a run may only set it once): a 100 mL container holds 1000
        // particles >= 25 um, over 600.
        await store.ChangeLotAsync(new LotRecord("LOT-V", 100, "mAb-9 vial"), new Actor("0123456789ab", "admin"), "label says 100 mL", T0);
        await AssertKeptAsync(store, "LOT-V", VerdictOutcome.Fail);

        // Reviews: five of them were air bubbles, which are not counted; 500 per container passes.
        for (int i = 0; i < 5; i++) await store.AppendReviewAsync("run-1", $"p{i}", "qa", "bubble", "a bubble", T0.AddMinutes(10));
        await AssertKeptAsync(store, "LOT-V", VerdictOutcome.Pass);

        // A second run, mostly "unknown" to its model set: no reference yet, so no alarm once it is complete.
        await store.SaveRunAsync(new RunRecord("run-2", "LOT-V", "FC-2", 1, null, T0.AddHours(1)));
        await store.AppendAsync([.. Enumerable.Range(0, 60).Select(i => Particle("LOT-V", "run-2", $"q{i}", i < 54 ? "unknown" : "protein", ecd: 5))]);
        await store.CompleteRunAsync("run-2", T0.AddHours(2));
        await AssertKeptAsync(store, "LOT-V", VerdictOutcome.Pass);

        // The model set's reference arrives (its registration): run-2 is now in alarm, and the lot is not assessable.
        await store.SaveModelSetReferenceAsync("set-x", 0.02);
        var shifted = await AssertKeptAsync(store, "LOT-V", VerdictOutcome.NotAssessable);
        Assert.Contains(shifted.VerdictReasons, r => r.Contains(DomainShift.Message, StringComparison.Ordinal));
        Assert.True(shifted.VerdictComputedUtc > described.VerdictComputedUtc.AddMilliseconds(-1));
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_store_started_with_other_verdict_settings_judges_every_lot_again_from_its_aggregates(string backend)
    {
        using (var store = await OpenAsync(backend, new VerdictPolicy()))
        {
            // 2 of 10 particles unknown: 20 %, over the default 15 %.
            await store.SaveLotAsync(new LotRecord("LOT-C", 1, "mAb-9"));
            await store.SaveRunAsync(new RunRecord("run-c", "LOT-C", "FC-1", 1, null, T0));
            await store.AppendAsync([.. Enumerable.Range(0, 10).Select(i => Particle("LOT-C", "run-c", $"p{i}", i < 2 ? "unknown" : "protein", ecd: 5))]);
            await store.CompleteRunAsync("run-c", T0);
            var judged = await AssertKeptAsync(store, "LOT-C", VerdictOutcome.NotAssessable);
            Assert.Contains(judged.VerdictReasons, r => r.Contains("MaxUnknownShare", StringComparison.Ordinal));
        }

        // The site allows 50 % now: its next start judges the lot again, without a particle changing.
        var allowing = new VerdictPolicy { MaxUnknownShare = 0.5 };
        using (var restarted = await OpenAgainAsync(backend, allowing))
        {
            await restarted.EnsureCreatedAsync();
            await AssertKeptAsync(restarted, "LOT-C", VerdictOutcome.Pass);
        }

        // A process that does not speak for the site (a token command) leaves the verdicts as the site judged them.
        using (var tokens = await OpenAgainAsync(backend, verdict: null))
        {
            await tokens.EnsureCreatedAsync();
            var kept = (await new LotReads(tokens).SummaryAsync("LOT-C"))!;
            Assert.Equal(VerdictOutcome.Pass, kept.Verdict);
            Assert.Equal(SqlParticleStore.VerdictFingerprint(allowing), kept.VerdictConfiguration);
        }
    }

    /// <summary>A store on a fresh database, created as a silo creates it with the site's verdict settings.</summary>
    private async Task<SqlParticleStore> OpenAsync(string backend, VerdictPolicy verdict)
    {
        if (backend != "sqlite") await _databases.CreatePostgresAsync();
        var store = await OpenAgainAsync(backend, verdict);
        await store.EnsureCreatedAsync();
        return store;
    }

    /// <summary>
    /// Another store on the same database, as a restarted host (or another process) opens it. A small pool: the
    /// concurrency test queues on it rather than exhausting the server's connections.
    /// </summary>
    private Task<SqlParticleStore> OpenAgainAsync(string backend, VerdictPolicy? verdict) => Task.FromResult(backend == "sqlite"
        ? SqlParticleStore.Sqlite(_databases.SqlitePath, verdict)
        : SqlParticleStore.Postgres(_databases.PostgresConnection(maxPoolSize: 8), verdict));

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task Stored_verdicts_equal_a_recomputation_after_concurrent_appends_replays_reviews_completions_and_volume_changes(string backend)
    {
        using var store = await OpenAsync(backend, new VerdictPolicy());
        var random = new Random(16);
        var lots = Enumerable.Range(0, 4).Select(i => $"LOT-{i}").ToList();
        var runs = lots.SelectMany((lot, i) => new[] { (Lot: lot, Run: $"run-{i}-a"), (Lot: lot, Run: $"run-{i}-b") }).ToList();
        foreach (var (lot, run) in runs) await store.SaveRunAsync(new RunRecord(run, lot, "FC-1", 0.5, null, T0));
        string[] types = ["protein", "glass", "silicone_oil", "bubble", "unknown"];
        var batches = runs.SelectMany(r => Enumerable.Range(0, 200)
            .Select(i => Particle(r.Lot, r.Run, $"p{i:D4}", types[random.Next(types.Length)], random.Next(8) == 0 ? null : Math.Round(random.NextDouble() * 60, 1)))
            .Chunk(25)).ToList();

        // Every batch twice (replays), with the lots' volumes changed by an admin, reviews and run completions racing them.
        var writes = new List<Func<Task>>();
        writes.AddRange(batches.Concat(batches).Select(batch => (Func<Task>)(() => store.AppendAsync(batch))));
        writes.AddRange(lots.SelectMany(lot => new[] { 1.0, 150.0, 2.0 }.Select(volume => (Func<Task>)(() => store.ChangeLotAsync(new LotRecord(lot, volume, "mAb"), new Actor(null, "admin"), "volume corrected", T0)))));
        writes.AddRange(runs.Select(r => (Func<Task>)(() => store.CompleteRunAsync(r.Run, T0.AddHours(1)))));
        await Task.WhenAll(writes.OrderBy(_ => random.Next()).Select(write => Task.Run(write)));
        var reviewed = batches.SelectMany(b => b).Where((_, i) => i % 9 == 0).ToList();
        await Task.WhenAll(reviewed.Select((p, i) => Task.Run(() =>
            store.AppendReviewAsync(p.RunId, p.ParticleId, "qa", types[i % 4], "checked", T0.AddHours(2)))));
        await store.SaveModelSetReferenceAsync("set-x", 0.01);

        var check = await store.CheckAggregatesAsync(rewrite: false);
        Assert.Empty(check.Differences);
        Assert.Equal(runs.Count * 200, check.Particles);
        foreach (var lot in lots)
        {
            var kept = (await new LotReads(store).SummaryAsync(lot))!;
            Assert.Equal((400, 0), (kept.Particles, kept.RunsInProgress));
            Assert.Equal((await new LotReads(store).ProfileAsync(lot))!.Verdict.Outcome, kept.Verdict);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task Concurrent_appends_to_one_lot_that_share_no_tally_row_are_all_in_its_stored_row(string backend)
    {
        // Each batch fills a tally cell and a model-set count of its own, so no two appends wait for each other on those
        // rows: only the lot's row, taken first, makes the last one to commit judge the lot on every batch before it.
        using var store = await OpenAsync(backend, new VerdictPolicy());
        await store.SaveRunAsync(new RunRecord("run-r", "LOT-R", "FC-1", 1, null, T0));
        string[] types = ["protein", "glass", "silicone_oil", "bubble"];
        double?[] sizes = [1, 3, 7, 15, 30, 60, null];
        var batches = types.SelectMany(type => sizes.Select(ecd => (type, ecd)))
            .Select((cell, b) => Enumerable.Range(0, 3).Select(i => Particle("LOT-R", "run-r", $"b{b:D2}-{i}", cell.type, cell.ecd, modelSet: $"set-{b:D2}")).ToList())
            .ToList();
        for (int round = 0; round < 3; round++)
        {
            await Task.WhenAll(batches.Select(batch => Task.Run(() => store.AppendAsync(batch))));
            Assert.Empty((await store.CheckAggregatesAsync(rewrite: false)).Differences);
            Assert.Equal(batches.Sum(batch => batch.Count), (await new LotReads(store).SummaryAsync("LOT-R"))!.Particles);
            // The next round adds a particle to every batch, all at once again.
            batches = [.. batches.Select((batch, b) => (List<ParticleRecord>)[.. batch, batch[0] with { ParticleId = $"b{b:D2}-r{round}" }])];
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_kept_verdict_changed_out_of_band_is_reported_by_verify_and_rewritten_by_rebuild(string backend)
    {
        using var store = await OpenAsync(backend, new VerdictPolicy());
        await store.SaveLotAsync(new LotRecord("LOT-X", 1, "mAb"));
        await store.SaveRunAsync(new RunRecord("run-x", "LOT-X", "FC-1", 1, null, T0));
        await store.AppendAsync([Particle("LOT-X", "run-x", "p1")]);
        await store.CompleteRunAsync("run-x", T0);
        await AssertKeptAsync(store, "LOT-X", VerdictOutcome.Pass);

        await using (var connection = Connect(backend))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE lot_aggregates SET verdict = 'Fail', particles = 7 WHERE lot_id = 'LOT-X'";
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }
        var broken = await store.CheckAggregatesAsync(rewrite: false);
        Assert.Equal(["lot LOT-X: particles kept 7, recomputed 1", "lot LOT-X: verdict kept Fail, recomputed Pass"], broken.Differences);
        Assert.Equal(broken.Differences, (await store.CheckAggregatesAsync(rewrite: true)).Differences);
        await AssertKeptAsync(store, "LOT-X", VerdictOutcome.Pass);
    }

    private System.Data.Common.DbConnection Connect(string backend) => backend == "sqlite"
        ? new SqliteConnection($"Data Source={_databases.SqlitePath}")
        : new NpgsqlConnection(_databases.PostgresConnection(maxPoolSize: 8));

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task The_lot_list_is_paged_most_recent_first_and_filtered_in_sql_with_the_total_of_the_filter(string backend)
    {
        using var store = await OpenAsync(backend, new VerdictPolicy());
        // 12 lots, a day apart (two of them on the same day: the lot id breaks the tie); the even ones complete and pass,
        // the odd ones have a run in progress. Products alternate.
        for (int i = 0; i < 12; i++)
        {
            string lot = $"LOT-{i:D2}";
            var started = T0.AddDays(i == 11 ? 10 : i);
            await store.SaveLotAsync(new LotRecord(lot, 1, i % 2 == 0 ? "mAb-1 PFS" : "mAb-2 vial"));
            await store.SaveRunAsync(new RunRecord($"run-{i}", lot, "FC-1", 1, null, started));
            await store.AppendAsync([Particle(lot, $"run-{i}", "p1")]);
            if (i % 2 == 0) await store.CompleteRunAsync($"run-{i}", started.AddHours(1));
        }
        // A lot described but never measured comes last (it has no run).
        await store.SaveLotAsync(new LotRecord("LOT-NEW", 1, "mAb-1 PFS"));

        string[] order = ["LOT-11", "LOT-10", .. Enumerable.Range(0, 10).Reverse().Select(i => $"LOT-{i:D2}"), "LOT-NEW"];
        Assert.Equal(order, await AllPagesAsync(store, new LotListQuery(Limit: 5), expectedTotal: 13, expectedPages: 3));

        // Verdict, product (any case, part of the name) and dates, each and together: the total counts the filter.
        Assert.Equal(["LOT-10", "LOT-08", "LOT-06", "LOT-04", "LOT-02", "LOT-00"],
            await AllPagesAsync(store, new LotListQuery(Verdict: VerdictOutcome.Pass, Limit: 4), expectedTotal: 6, expectedPages: 2));
        Assert.Equal(["LOT-11", "LOT-09", "LOT-07", "LOT-05", "LOT-03", "LOT-01"],
            await AllPagesAsync(store, new LotListQuery(Product: "MAB-2", Limit: 10), expectedTotal: 6, expectedPages: 1));
        Assert.Equal(["LOT-05", "LOT-04", "LOT-03"],
            await AllPagesAsync(store, new LotListQuery(LastRunFrom: T0.AddDays(3), FirstRunBefore: T0.AddDays(6), Limit: 2), expectedTotal: 3, expectedPages: 2));
        Assert.Equal(["LOT-05", "LOT-03"],
            await AllPagesAsync(store, new LotListQuery(Product: "vial", LastRunFrom: T0.AddDays(3), FirstRunBefore: T0.AddDays(6), Verdict: VerdictOutcome.NotAssessable, Limit: 1),
                expectedTotal: 2, expectedPages: 2));
        Assert.Empty(await AllPagesAsync(store, new LotListQuery(Product: "100%_", Limit: 5), expectedTotal: 0, expectedPages: 1));

        // Limit 0: the total alone.
        var counted = await store.ListLotsAsync(new LotListQuery(Verdict: VerdictOutcome.NotAssessable, Limit: 0));
        Assert.Equal((7, 0), (counted.Total, counted.Lots.Count));
        Assert.Null(counted.Next);
    }

    /// <summary>Follows the cursors from the first page to the last: every lot once, the same total on every page.</summary>
    private static async Task<List<string>> AllPagesAsync(SqlParticleStore store, LotListQuery query, int expectedTotal, int expectedPages)
    {
        var lots = new List<string>();
        int pages = 0;
        for (LotKey? after = null; ;)
        {
            var page = await store.ListLotsAsync(query with { After = after });
            pages++;
            Assert.Equal(expectedTotal, page.Total);
            Assert.True(page.Lots.Count <= query.Limit);
            lots.AddRange(page.Lots.Select(l => l.LotId));
            if ((after = page.Next) is null) break;
            Assert.Equal(query.Limit, page.Lots.Count);
        }
        Assert.Equal(expectedPages, pages);
        Assert.Equal(lots.Distinct().Count(), lots.Count);
        return lots;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _databases.DisposeAsync().AsTask();
}
