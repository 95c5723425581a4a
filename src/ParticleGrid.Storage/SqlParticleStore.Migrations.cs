using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ParticleGrid.Storage;

/// <summary>
/// The store's schema as ordered, versioned migrations. Each applied migration is a row of <c>schema_versions</c>; at
/// start a store gets, in order, each migration it lacks, each in its own transaction with its row, so a migration that
/// fails leaves the store at the version before it. A small runner rather than DbUp: one list serves both databases
/// (the few dialect differences are a flag, not two script folders), some migrations are C# (a back-fill that counts
/// the way the append path counts, with the same code as <c>store verify</c>), and silos starting together must wait for
/// each other (a PostgreSQL advisory lock held by the migrating transaction; SQLite's writer lock).
/// </summary>
public sealed partial class SqlParticleStore
{
    /// <summary>One step of the schema. <see cref="Version"/>s are 1, 2, 3...; a released migration is never edited, only followed.</summary>
    private sealed record Migration(int Version, string Name, Func<DbConnection, DbTransaction, CancellationToken, Task> ApplyAsync);

    private static readonly Migration[] Migrations =
    [
        // Stores made before versions were recorded have these tables (IF NOT EXISTS) with or without the later
        // columns: this step brings every one of them, and a fresh store, to the schema as it stood then.
        new(1, "particles, runs, lots, model set references, images, reviews, tokens", async (connection, transaction, cancellation) =>
        {
            await ExecuteAsync(connection, transaction, Schema, cancellation);
            await AddLaterColumnsAsync(connection, transaction, cancellation);
            await ExecuteAsync(connection, transaction, QaSchema(connection is SqliteConnection), cancellation);
        }),
        new(2, "lot tallies: particles per lot by type, size class, uncertain and reviewed, kept as particles are recorded", async (connection, transaction, cancellation) =>
        {
            await ExecuteAsync(connection, transaction, LotTalliesSchema, cancellation);
            await RewriteLotTalliesAsync(connection, transaction, cancellation);
        }),
        new(3, "model set counts: classified and unknown particles per run and model set (the domain-shift alarm's inputs)", async (connection, transaction, cancellation) =>
        {
            await ExecuteAsync(connection, transaction, ModelSetCountsSchema, cancellation);
            await RewriteModelSetCountsAsync(connection, transaction, cancellation);
        }),
        new(4, "lot aggregates: one row per lot with its runs, particles and stored verdict, kept with every change (the lot list)", async (connection, transaction, cancellation) =>
        {
            await ExecuteAsync(connection, transaction, LotAggregatesSchema, cancellation);
            await BackFillLotAggregatesAsync(connection, transaction, cancellation);
        }),
        new(5, "token lifecycle (expiry, last use, revocation), the admin audit trail, and the token id of each review", async (connection, transaction, cancellation) =>
            await ExecuteAsync(connection, transaction, TokenLifecycleSchema, cancellation)),
        // A lot's particles in key order straight from one index: keyset pages of a lot and its exports were read
        // through particles_by_lot and then sorted, a cost that grew with the lot (tests: QueryPlanTests). The new index
        // answers lot_id lookups as the old one did, so that one goes, and appends keep one index per lot, not two.
        new(6, "particles by lot in key order (lot_id, run_id, particle_id), for lot pages and exports", async (connection, transaction, cancellation) =>
        {
            await ExecuteAsync(connection, transaction, """
                CREATE INDEX IF NOT EXISTS particles_by_lot_key ON particles (lot_id, run_id, particle_id);
                DROP INDEX IF EXISTS particles_by_lot;
                """, cancellation);
        }),
    ];

    /// <summary>The schema version this build writes: the last migration's.</summary>
    public static int SchemaVersion => Migrations[^1].Version;

    /// <summary>Any number, the same for every silo: the PostgreSQL advisory lock that one migrating silo holds at a time.</summary>
    private const long MigrationLock = 0x5061727469636c65; // "Particle"

    public async Task EnsureCreatedAsync(CancellationToken cancellation = default)
    {
        await using (var connection = await OpenAsync(cancellation))
        {
            if (connection is SqliteConnection) await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellation);
        }
        while (await ApplyNextMigrationAsync(cancellation)) { }
        // The verdict settings are configuration: a lot judged by others (or by older rules) is judged again now, from its
        // aggregates. Only a store opened with the site's settings does this; a token command, say, leaves verdicts alone.
        if (_judgesAtStart) await JudgeLotsOfOtherSettingsAsync(cancellation);
    }

    /// <summary>The versions this store has applied, in order (empty before the first start).</summary>
    public async Task<IReadOnlyList<int>> AppliedMigrationsAsync(CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        await using var transaction = await connection.BeginTransactionAsync(cancellation);
        await ExecuteAsync(connection, transaction, SchemaVersionsTable, cancellation);
        return await AppliedAsync(connection, transaction, cancellation);
    }

    private const string SchemaVersionsTable = """
        CREATE TABLE IF NOT EXISTS schema_versions (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_unix_ms BIGINT NOT NULL);
        """;

    /// <summary>Applies the first migration the store lacks, in one transaction with its version row; false when there was none.</summary>
    private async Task<bool> ApplyNextMigrationAsync(CancellationToken cancellation)
    {
        return await WriteAsync(async (connection, transaction) =>
        {
            // Silos starting together queue here; the next one in finds the migration applied and goes on to the next.
            if (connection is NpgsqlConnection)
            {
                await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLock})", cancellation);
            }
            await ExecuteAsync(connection, transaction, SchemaVersionsTable, cancellation);
            var applied = await AppliedAsync(connection, transaction, cancellation);
            if (applied.Count > 0 && applied[^1] > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"{_description} is at schema version {applied[^1]}, newer than this build's {SchemaVersion}: run the newer build (the store is left as it is)");
            }
            var next = Migrations.FirstOrDefault(m => !applied.Contains(m.Version));
            if (next is null) return 0;
            await next.ApplyAsync(connection, transaction, cancellation);
            await ExecuteAsync(connection, transaction, "INSERT INTO schema_versions (version, name, applied_unix_ms) VALUES (@version, @name, @at)", cancellation,
                ("version", next.Version), ("name", next.Name), ("at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
            return 1;
        }, cancellation) == 1;
    }

    private static async Task<List<int>> AppliedAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellation)
    {
        await using var query = connection.CreateCommand();
        query.Transaction = transaction;
        query.CommandText = "SELECT version FROM schema_versions ORDER BY version";
        var versions = new List<int>();
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation)) versions.Add(Convert.ToInt32(reader.GetValue(0)));
        return versions;
    }

    private static readonly (string Table, string Name, string Type)[] LaterColumns =
    [
        ("particles", "size_source", "TEXT"), ("particles", "area_um2", "DOUBLE PRECISION"), ("particles", "aspect_ratio", "DOUBLE PRECISION"),
        ("particles", "circularity", "DOUBLE PRECISION"), ("particles", "mean_intensity", "DOUBLE PRECISION"),
        ("runs", "completed_unix_ms", "BIGINT"),
    ];

    private static async Task AddLaterColumnsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellation)
    {
        foreach (var table in LaterColumns.GroupBy(c => c.Table))
        {
            var existing = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            await using (var query = connection.CreateCommand())
            {
                query.Transaction = transaction;
                query.CommandText = connection is SqliteConnection
                    ? $"SELECT name FROM pragma_table_info('{table.Key}')"
                    : $"SELECT column_name FROM information_schema.columns WHERE table_name = '{table.Key}' AND table_schema = current_schema()";
                await using var reader = await query.ExecuteReaderAsync(cancellation);
                while (await reader.ReadAsync(cancellation)) existing.Add(reader.GetString(0));
            }
            foreach (var (_, name, type) in table.Where(c => !existing.Contains(c.Name)))
            {
                string ifMissing = connection is SqliteConnection ? "" : "IF NOT EXISTS ";
                await ExecuteAsync(connection, transaction, $"ALTER TABLE {table.Key} ADD COLUMN {ifMissing}{name} {type} NULL", cancellation);
            }
        }
    }

    /// <summary>The tables of the particle ledger and of runs and lots, as they stood when migrations began to be versioned.</summary>
    private const string Schema = """
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
        """;

    /// <summary>
    /// Version 5: a token can expire and be revoked, and says when it was last used; admin actions (tokens made and
    /// revoked, lots changed) are audited with the acting token's id and name; reviews keep the reviewer's token id.
    /// Rows written before keep NULL there: their tokens never expire, their reviews name the reviewer only.
    /// </summary>
    private const string TokenLifecycleSchema = """
        ALTER TABLE tokens ADD COLUMN expires_unix_ms BIGINT NULL;
        ALTER TABLE tokens ADD COLUMN last_used_unix_ms BIGINT NULL;
        ALTER TABLE tokens ADD COLUMN revoked_unix_ms BIGINT NULL;
        ALTER TABLE reviews ADD COLUMN reviewer_token_id TEXT NULL;
        CREATE TABLE admin_audit (
            sequence BIGINT PRIMARY KEY,
            at_unix_ms BIGINT NOT NULL,
            token_id TEXT NULL,
            token_name TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL);
        CREATE INDEX admin_audit_by_subject ON admin_audit (subject);
        """;

    /// <summary>QA's tables (images, the review audit trail, tokens), as they stood when migrations began to be versioned.</summary>
    private static string QaSchema(bool sqlite) => $"""
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
}
