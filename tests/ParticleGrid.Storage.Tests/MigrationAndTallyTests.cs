using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Storage.Tests;

/// <summary>
/// The schema's migrations (from a store made before they were versioned, and from nothing) and the lot tallies kept
/// with appends and reviews, proven equal to a recount from the particles, on SQLite and PostgreSQL.
/// </summary>
public sealed class MigrationAndTallyTests : IAsyncLifetime
{
    private readonly ScratchDatabases _databases = new("migrate");

    public static TheoryData<string> Backends => ScratchDatabases.Backends;

    // A small pool: the concurrency test queues on it rather than exhausting the server's connections.
    private string PostgresConnection => _databases.PostgresConnection(maxPoolSize: 16);

    /// <summary>An empty database for the backend, and a way to reach it without the store.</summary>
    private async Task<Func<DbConnection>> EmptyDatabaseAsync(string backend)
    {
        if (backend == "sqlite")
        {
            Directory.CreateDirectory(_databases.Folder);
            return () => new SqliteConnection($"Data Source={_databases.SqlitePath}");
        }
        await _databases.CreatePostgresAsync();
        return () => new NpgsqlConnection(PostgresConnection);
    }

    private SqlParticleStore Store(string backend) => backend == "sqlite" ? SqlParticleStore.Sqlite(_databases.SqlitePath) : SqlParticleStore.Postgres(PostgresConnection);

    private static async Task ExecuteAsync(Func<DbConnection> connect, string sql)
    {
        await using var connection = connect();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(Func<DbConnection> connect, string sql)
    {
        await using var connection = connect();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    /// <summary>
    /// The exact DDL the store ran at every start before migrations were versioned (main at 3a065e1: Schema, then QaSchema;
    /// the later columns were already in its CREATE TABLE).
    /// </summary>
    private static string SchemaBeforeMigrations(bool sqlite) => $"""
        CREATE TABLE IF NOT EXISTS lots (
            lot_id TEXT PRIMARY KEY,
            container_volume_ml DOUBLE PRECISION NULL,
            product TEXT NULL);
        CREATE TABLE IF NOT EXISTS runs (
            run_id TEXT PRIMARY KEY,
            lot_id TEXT NOT NULL,
            instrument_id TEXT NOT NULL,
            analysed_volume_ml DOUBLE PRECISION NULL,
            expected_particles INTEGER NULL,
            started_unix_ms BIGINT NOT NULL,
            completed_unix_ms BIGINT NULL);
        CREATE INDEX IF NOT EXISTS runs_by_lot ON runs (lot_id);
        CREATE TABLE IF NOT EXISTS particles (
            run_id TEXT NOT NULL,
            particle_id TEXT NOT NULL,
            lot_id TEXT NOT NULL,
            instrument_id TEXT NOT NULL,
            image_sha256 TEXT NOT NULL,
            ecd_um DOUBLE PRECISION NULL,
            particle_type TEXT NULL,
            probability DOUBLE PRECISION NULL,
            uncertain INTEGER NOT NULL,
            uncertain_reason TEXT NULL,
            model_set_version TEXT NULL,
            votes_json TEXT NOT NULL,
            failure TEXT NULL,
            recorded_unix_ms BIGINT NOT NULL,
            size_source TEXT NULL,
            area_um2 DOUBLE PRECISION NULL,
            aspect_ratio DOUBLE PRECISION NULL,
            circularity DOUBLE PRECISION NULL,
            mean_intensity DOUBLE PRECISION NULL,
            PRIMARY KEY (run_id, particle_id));
        CREATE INDEX IF NOT EXISTS particles_by_lot ON particles (lot_id);
        CREATE TABLE IF NOT EXISTS model_set_references (
            model_set_version TEXT PRIMARY KEY,
            expected_unknown_share DOUBLE PRECISION NULL,
            recorded_unix_ms BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS particle_images (
            run_id TEXT NOT NULL,
            particle_id TEXT NOT NULL,
            image {(sqlite ? "BLOB" : "BYTEA")} NOT NULL,
            PRIMARY KEY (run_id, particle_id));
        CREATE TABLE IF NOT EXISTS reviews (
            sequence BIGINT PRIMARY KEY,
            lot_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            particle_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            at_unix_ms BIGINT NOT NULL,
            previous_label TEXT NULL,
            label TEXT NOT NULL,
            reason TEXT NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS reviews_by_particle ON reviews (run_id, particle_id);
        CREATE INDEX IF NOT EXISTS reviews_by_lot ON reviews (lot_id);
        CREATE TABLE IF NOT EXISTS tokens (
            token_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            created_unix_ms BIGINT NOT NULL);
        """;

    /// <summary>Rows such a store held: two lots, a completed and an open run, every kind of particle, a review, a token.</summary>
    private const string RowsBeforeMigrations = """
        INSERT INTO lots (lot_id, container_volume_ml, product) VALUES ('LOT-1', 2, 'mAb-7'), ('LOT-2', NULL, NULL);
        INSERT INTO runs (run_id, lot_id, instrument_id, analysed_volume_ml, expected_particles, started_unix_ms, completed_unix_ms) VALUES
            ('run-1', 'LOT-1', 'FC-1', 0.5, 6, 1790000000000, 1790000100000),
            ('run-2', 'LOT-1', 'MFI-1', 0.25, NULL, 1790000200000, NULL),
            ('run-3', 'LOT-2', 'FC-1', NULL, NULL, 1790000300000, NULL);
        INSERT INTO particles (run_id, particle_id, lot_id, instrument_id, image_sha256, ecd_um, particle_type, probability, uncertain, uncertain_reason,
                               model_set_version, votes_json, failure, recorded_unix_ms, size_source, area_um2, aspect_ratio, circularity, mean_intensity) VALUES
            ('run-1', 'p1', 'LOT-1', 'FC-1', 'aa', 12, 'protein', 0.97, 0, NULL, 'set-a', '[]', NULL, 1790000000001, 'instrument', 110, 1.2, 0.8, 0.4),
            ('run-1', 'p2', 'LOT-1', 'FC-1', 'aa', 30, 'glass', 0.6, 1, 'disagreement', 'set-a', '[]', NULL, 1790000000002, 'image', NULL, NULL, NULL, NULL),
            ('run-1', 'p3', 'LOT-1', 'FC-1', 'aa', NULL, NULL, NULL, 0, NULL, NULL, '[]', 'corrupt image', 1790000000003, NULL, NULL, NULL, NULL, NULL),
            ('run-1', 'p4', 'LOT-1', 'FC-1', 'aa', 1.5, 'bubble', 0.99, 0, NULL, 'set-a', '[]', NULL, 1790000000004, 'instrument', NULL, NULL, NULL, NULL),
            ('run-1', 'p5', 'LOT-1', 'FC-1', 'aa', NULL, 'silicone_oil', 0.9, 0, NULL, 'set-a', '[]', NULL, 1790000000005, NULL, NULL, NULL, NULL, NULL),
            ('run-2', 'p1', 'LOT-1', 'MFI-1', 'bb', 55, 'unknown', 0.4, 1, 'below_threshold', 'set-b', '[]', NULL, 1790000200001, 'instrument', NULL, NULL, NULL, NULL),
            ('run-2', 'p2', 'LOT-1', 'MFI-1', 'bb', 5, 'protein', 0.8, 1, 'disagreement', 'set-b', '[]', NULL, 1790000200002, 'instrument', NULL, NULL, NULL, NULL),
            ('run-3', 'p1', 'LOT-2', 'FC-1', 'cc', 25, 'glass', 0.95, 0, NULL, 'set-a', '[]', NULL, 1790000300001, 'instrument', NULL, NULL, NULL, NULL);
        INSERT INTO model_set_references (model_set_version, expected_unknown_share, recorded_unix_ms) VALUES ('set-a', 0.02, 1790000000000);
        INSERT INTO tokens (token_id, name, role, sha256, created_unix_ms) VALUES ('0123456789ab', 'admin token', 'admin', '0123456789abcdef', 1790000000000);
        INSERT INTO reviews (sequence, lot_id, run_id, particle_id, reviewer, at_unix_ms, previous_label, label, reason, previous_hash, hash) VALUES
            (1, 'LOT-1', 'run-1', 'p2', 'qa', 1790000400000, 'glass', 'fibre', 'looks like a fibre', '0', 'h1'),
            (2, 'LOT-1', 'run-2', 'p2', 'qa', 1790000400001, 'protein', 'protein', 'confirmed', 'h1', 'h2');
        """;

    private static readonly string[] Tables = ["lots", "runs", "particles", "model_set_references", "particle_images", "reviews", "tokens"];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A lot's profile from the kept tally and, the way it was made before tallies, from every particle: the same JSON.</summary>
    private static async Task AssertProfileFromTallyEqualsRecountAsync(SqlParticleStore store, string lot)
    {
        var policy = store.VerdictPolicy;
        var fromTally = (await new LotReads(store).ProfileAsync(lot))!;
        var runs = await store.RunsOfLotAsync(lot);
        double? analysed = runs.Count > 0 && runs.All(r => r.AnalysedVolumeMl is not null) ? runs.Sum(r => r.AnalysedVolumeMl!.Value) : null;
        var fromParticles = LotProfiles.Compute(lot, runs.Count, await store.CountedParticlesOfLotAsync(lot), analysed,
            (await store.GetLotAsync(lot))?.ContainerVolumeMl, runs.Count(r => r.CompletedUtc is null), policy, await store.DomainShiftCountsOfLotAsync(lot));
        Assert.Equal(JsonSerializer.Serialize(fromParticles, Json), JsonSerializer.Serialize(fromTally, Json));
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_store_made_before_migrations_were_versioned_is_upgraded_keeping_every_row(string backend)
    {
        var connect = await EmptyDatabaseAsync(backend);
        await ExecuteAsync(connect, SchemaBeforeMigrations(backend == "sqlite"));
        await ExecuteAsync(connect, RowsBeforeMigrations);
        var before = new Dictionary<string, long>();
        foreach (var table in Tables) before[table] = await ScalarAsync(connect, $"SELECT COUNT(*) FROM {table}");

        using (var store = Store(backend))
        {
            await store.EnsureCreatedAsync();
            Assert.Equal([1, 2, 3, 4, 5, 6], await store.AppliedMigrationsAsync());
            foreach (var table in Tables) Assert.Equal(before[table], await ScalarAsync(connect, $"SELECT COUNT(*) FROM {table}"));

            // Version 5: the token made before lifecycles never expires and is not revoked; old reviews name their reviewer only.
            Assert.Equal(new AccessToken("0123456789ab", "admin token", "admin", DateTimeOffset.FromUnixTimeMilliseconds(1790000000000)),
                Assert.Single(await store.ListTokensAsync()));
            Assert.All(await store.ReviewsAsync(null), r => Assert.Equal(("qa", null), (r.Reviewer, r.ReviewerTokenId)));

            // The back-filled tallies count what the particles hold, reviews included.
            var check = await store.CheckAggregatesAsync(rewrite: false);
            Assert.Equal(["LOT-2", "LOT-1"], (await store.ListLotsAsync(new LotListQuery())).Lots.Select(l => l.LotId));
            Assert.Empty(check.Differences);
            Assert.Equal(8, check.Particles);
            var profile = (await new LotReads(store).ProfileAsync("LOT-1"))!;
            Assert.Equal((7, 2, 2, 1), (profile.Particles, profile.Reviewed, profile.WithoutSize, profile.Failed));
            Assert.Equal(1, profile.Types.Single(t => t.Type == "fibre").Count);
            Assert.Equal(1, profile.Uncertain);   // run-2 p1; run-1 p2 and run-2 p2 were reviewed
            await AssertProfileFromTallyEqualsRecountAsync(store, "LOT-1");
            await AssertProfileFromTallyEqualsRecountAsync(store, "LOT-2");
            Assert.Equal(["run-1", "run-2"], (await store.DomainShiftCountsOfLotAsync("LOT-1")).Select(c => c.RunId));
        }

        // Every later start: nothing to do, nothing changed.
        long tallies = await ScalarAsync(connect, "SELECT COUNT(*) FROM lot_tallies");
        using (var again = Store(backend))
        {
            await again.EnsureCreatedAsync();
            Assert.Equal([1, 2, 3, 4, 5, 6], await again.AppliedMigrationsAsync());
            Assert.Equal(tallies, await ScalarAsync(connect, "SELECT COUNT(*) FROM lot_tallies"));
            Assert.Empty((await again.CheckAggregatesAsync(rewrite: false)).Differences);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_fresh_store_gets_every_migration_once_however_many_start_it_together(string backend)
    {
        var connect = await EmptyDatabaseAsync(backend);
        var stores = Enumerable.Range(0, 4).Select(_ => Store(backend)).ToList();
        await Task.WhenAll(stores.Select(s => s.EnsureCreatedAsync()));   // silos starting together
        var applied = await stores[0].AppliedMigrationsAsync();
        Assert.Equal([1, 2, 3, 4, 5, 6], applied);
        Assert.Equal(SqlParticleStore.SchemaVersion, await ScalarAsync(connect, "SELECT MAX(version) FROM schema_versions"));
        Assert.Equal((long)applied.Count, await ScalarAsync(connect, "SELECT COUNT(*) FROM schema_versions"));
        foreach (var s in stores) s.Dispose();
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_store_newer_than_the_build_is_refused_and_left_as_it_is(string backend)
    {
        var connect = await EmptyDatabaseAsync(backend);
        using var store = Store(backend);
        await store.EnsureCreatedAsync();
        await ExecuteAsync(connect, "INSERT INTO schema_versions (version, name, applied_unix_ms) VALUES (99, 'from a newer build', 0)");
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.EnsureCreatedAsync());
        Assert.Contains("schema version 99", refused.Message);
    }

    private static ParticleRecord Particle(string lot, string run, int i, Random random)
    {
        string[] types = ["bubble", "silicone_oil", "glass", "protein", "unknown"];
        bool failed = random.Next(20) == 0;
        double? ecd = random.Next(10) == 0 ? null : Math.Round(random.NextDouble() * 60, 1);
        string? type = failed ? null : types[random.Next(types.Length)];
        return new ParticleRecord(run, $"p{i:D5}", lot, "FC-1", "ab", ecd, type, failed ? null : 0.9, !failed && random.Next(4) == 0, null,
            failed ? null : $"set-{random.Next(2)}", [], failed ? "corrupt image" : null, DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000));
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task Tallies_equal_a_recount_after_replays_concurrent_appends_and_reviews(string backend)
    {
        await EmptyDatabaseAsync(backend);
        using var store = Store(backend);
        await store.EnsureCreatedAsync();
        var random = new Random(16);
        var runs = Enumerable.Range(0, 6).Select(r => (Lot: $"LOT-{r % 3}", Run: $"run-{r}")).ToList();
        foreach (var (lot, run) in runs) await store.SaveRunAsync(new RunRecord(run, lot, "FC-1", 0.1, null, DateTimeOffset.UtcNow));
        var batches = runs.SelectMany(r => Enumerable.Range(0, 300).Select(i => Particle(r.Lot, r.Run, i, random)).Chunk(50)).ToList();

        // Every batch sent twice, at once and in any order: replays must not count twice.
        await Task.WhenAll(batches.Concat(batches).Select(batch => Task.Run(() => store.AppendAsync(batch))));
        Assert.Equal(runs.Count * 300, (await store.CheckAggregatesAsync(rewrite: false)).Particles);

        // Reviews racing with more appends: relabels, confirmations, second opinions on the same particles.
        string[] labels = ["protein", "glass", "fibre", "silicone_oil", "bubble"];
        var reviewed = batches.SelectMany(b => b).Where(p => p.Failure is null).Where((_, i) => i % 7 == 0).ToList();
        var more = runs.Select(r => Enumerable.Range(300, 100).Select(i => Particle(r.Lot, r.Run, i, random)).ToList()).ToList();
        var reviews = reviewed.Select((p, i) => Task.Run(async () =>
        {
            await store.AppendReviewAsync(p.RunId, p.ParticleId, "qa", labels[i % labels.Length], "checked", DateTimeOffset.UtcNow);
            if (i % 3 == 0) await store.AppendReviewAsync(p.RunId, p.ParticleId, "qa2", labels[(i + 1) % labels.Length], "second look", DateTimeOffset.UtcNow);
        }));
        await Task.WhenAll(reviews.Concat(more.Select(batch => Task.Run(() => store.AppendAsync(batch)))));

        var check = await store.CheckAggregatesAsync(rewrite: false);
        Assert.Empty(check.Differences);
        Assert.Equal(runs.Count * 400, check.Particles);
        Assert.True((await store.VerifyAuditTrailAsync()).Intact);
        foreach (var lot in runs.Select(r => r.Lot).Distinct()) await AssertProfileFromTallyEqualsRecountAsync(store, lot);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task Verify_reports_a_tally_changed_out_of_band_and_rebuild_rewrites_it(string backend)
    {
        var connect = await EmptyDatabaseAsync(backend);
        using var store = Store(backend);
        await store.EnsureCreatedAsync();
        var random = new Random(7);
        await store.SaveRunAsync(new RunRecord("run-1", "LOT-1", "FC-1", 0.1, null, DateTimeOffset.UtcNow));
        await store.AppendAsync([.. Enumerable.Range(0, 200).Select(i => Particle("LOT-1", "run-1", i, random))]);
        await ExecuteAsync(connect, "UPDATE lot_tallies SET particles = particles + 5 WHERE size_class = (SELECT MAX(size_class) FROM lot_tallies)");
        await ExecuteAsync(connect, "DELETE FROM model_set_counts WHERE model_set_version = 'set-1'");

        var broken = await store.CheckAggregatesAsync(rewrite: false);
        Assert.NotEmpty(broken.Differences);
        Assert.Contains(broken.Differences, d => d.Contains("model set set-1"));
        Assert.Equal(broken.Differences, (await store.CheckAggregatesAsync(rewrite: true)).Differences);   // rebuild reports what it fixed
        Assert.Empty((await store.CheckAggregatesAsync(rewrite: false)).Differences);
        await AssertProfileFromTallyEqualsRecountAsync(store, "LOT-1");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _databases.DisposeAsync().AsTask();
}
