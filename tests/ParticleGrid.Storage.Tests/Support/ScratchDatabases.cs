using ParticleGrid.Domain;
using Microsoft.Data.Sqlite;
using Npgsql;
using ParticleGrid.Storage;

namespace ParticleGrid.Storage.Tests;

/// <summary>
/// One test's own databases for the same contract on both backends: a SQLite file in a temporary folder, and a
/// PostgreSQL database of its own (made when first asked for, skipping the test where PostgreSQL is missing). Both
/// are removed afterwards, so tests never see each other's rows.
/// </summary>
internal sealed class ScratchDatabases(string name) : IAsyncDisposable
{
    public static TheoryData<string> Backends => new() { "sqlite", "postgres" };

    private static string Admin => Environment.GetEnvironmentVariable(Prerequisite.PostgresVariable) ?? Prerequisite.PostgresDefault;

    private readonly string _database = $"pg{name}_{Guid.NewGuid():N}";

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"pg-{name}-{Guid.NewGuid():N}");

    public string SqlitePath => Path.Combine(Folder, "particles.db");

    public string PostgresConnection(int? maxPoolSize = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(Admin) { Database = _database };
        if (maxPoolSize is { } size) builder.MaxPoolSize = size;
        return builder.ToString();
    }

    /// <summary>Creates the PostgreSQL database; skips the test when PostgreSQL is not installed.</summary>
    public async Task CreatePostgresAsync()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        try
        {
            await using var admin = new NpgsqlConnection(Admin);
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException($"These tests need PostgreSQL: run .ci/postgres.sh or set {Prerequisite.PostgresVariable}. ({e.Message})", e);
        }
    }

    /// <summary>A store on a fresh database of <paramref name="backend"/> ("sqlite" or "postgres"), created as a silo creates it.</summary>
    /// <param name="verdict">The site's verdict settings, as a silo passes them (null: none, the defaults judge).</param>
    public async Task<SqlParticleStore> OpenStoreAsync(string backend, VerdictPolicy? verdict = null)
    {
        SqlParticleStore store;
        if (backend == "sqlite")
        {
            store = SqlParticleStore.Sqlite(SqlitePath, verdict);
        }
        else
        {
            await CreatePostgresAsync();
            store = SqlParticleStore.Postgres(PostgresConnection(), verdict);
        }
        await store.EnsureCreatedAsync();
        return store;
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Folder, recursive: true); } catch (DirectoryNotFoundException) { }
        if (!Prerequisite.PostgreSQL.IsInstalled) return;   // no database was made; and an unreachable server would take its timeout
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var admin = new NpgsqlConnection(Admin);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException) { }
    }
}
