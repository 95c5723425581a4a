using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace ParticleGrid.Host.Persistence;

/// <summary>
/// Durable grain state in one SQLite file under the data directory: what the embedded host uses where a cluster
/// uses Orleans' ADO.NET provider on PostgreSQL. Optimistic concurrency by ETag, as Orleans expects: a write whose
/// ETag is stale throws <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class SqliteGrainStorage : IGrainStorage
{
    private readonly string _connectionString;
    private readonly IGrainStorageSerializer _serializer;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly Lazy<Task> _created;

    public SqliteGrainStorage(string path, IGrainStorageSerializer serializer)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
        _serializer = serializer;
        _created = new Lazy<Task>(CreateAsync);
    }

    private async Task CreateAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS grain_state (
                state_name TEXT NOT NULL,
                grain_id TEXT NOT NULL,
                etag TEXT NOT NULL,
                payload BLOB NOT NULL,
                PRIMARY KEY (state_name, grain_id));
            """;
        await command.ExecuteNonQueryAsync();
    }

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await _created.Value;
        await using var connection = await OpenAsync();
        await using var query = connection.CreateCommand();
        query.CommandText = "SELECT etag, payload FROM grain_state WHERE state_name = @name AND grain_id = @id";
        query.Parameters.AddWithValue("@name", stateName);
        query.Parameters.AddWithValue("@id", grainId.ToString());
        await using var reader = await query.ExecuteReaderAsync();
        if (await reader.ReadAsync())
        {
            grainState.ETag = reader.GetString(0);
            grainState.State = _serializer.Deserialize<T>(new BinaryData((byte[])reader.GetValue(1)));
            grainState.RecordExists = true;
        }
        else
        {
            grainState.ETag = null;
            grainState.State = Activator.CreateInstance<T>();
            grainState.RecordExists = false;
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await _created.Value;
        string etag = Guid.NewGuid().ToString("N");
        byte[] payload = _serializer.Serialize(grainState.State).ToArray();
        await _writer.WaitAsync();
        try
        {
            await using var connection = await OpenAsync();
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
            string? stored = await StoredEtagAsync(connection, transaction, stateName, grainId);
            if (stored != grainState.ETag) throw new InconsistentStateException($"grain state {stateName} of {grainId} was changed by another writer", stored, grainState.ETag);

            await using var write = connection.CreateCommand();
            write.Transaction = transaction;
            write.CommandText = """
                INSERT INTO grain_state (state_name, grain_id, etag, payload) VALUES (@name, @id, @etag, @payload)
                ON CONFLICT (state_name, grain_id) DO UPDATE SET etag = excluded.etag, payload = excluded.payload
                """;
            write.Parameters.AddWithValue("@name", stateName);
            write.Parameters.AddWithValue("@id", grainId.ToString());
            write.Parameters.AddWithValue("@etag", etag);
            write.Parameters.AddWithValue("@payload", payload);
            await write.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }
        finally
        {
            _writer.Release();
        }
        grainState.ETag = etag;
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await _created.Value;
        await _writer.WaitAsync();
        try
        {
            await using var connection = await OpenAsync();
            await using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM grain_state WHERE state_name = @name AND grain_id = @id";
            delete.Parameters.AddWithValue("@name", stateName);
            delete.Parameters.AddWithValue("@id", grainId.ToString());
            await delete.ExecuteNonQueryAsync();
        }
        finally
        {
            _writer.Release();
        }
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }

    private static async Task<string?> StoredEtagAsync(SqliteConnection connection, SqliteTransaction transaction, string stateName, GrainId grainId)
    {
        await using var query = connection.CreateCommand();
        query.Transaction = transaction;
        query.CommandText = "SELECT etag FROM grain_state WHERE state_name = @name AND grain_id = @id";
        query.Parameters.AddWithValue("@name", stateName);
        query.Parameters.AddWithValue("@id", grainId.ToString());
        return await query.ExecuteScalarAsync() as string;
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout=30000;";
        await pragma.ExecuteNonQueryAsync();
        return connection;
    }
}
