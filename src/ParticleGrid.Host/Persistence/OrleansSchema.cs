using System.Reflection;
using Npgsql;

namespace ParticleGrid.Host.Persistence;

/// <summary>
/// Orleans' own ADO.NET tables on PostgreSQL (membership, grain state), created from Orleans' scripts for 10.4.2
/// (embedded in this assembly, see Sql/) when the database lacks them. Silos starting together take an advisory
/// lock, so the scripts run once.
/// </summary>
public static class OrleansSchema
{
    private const long LockKey = 0x5061_7274_4772_6964; // "PartGrid"
    private static readonly string[] Scripts = ["PostgreSQL-Main.sql", "PostgreSQL-Clustering.sql", "PostgreSQL-Persistence.sql"];

    public static async Task EnsureAsync(string connectionString, CancellationToken cancellation = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellation);
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException($"cannot reach PostgreSQL ({new NpgsqlConnectionStringBuilder(connectionString) { Password = null }}): {e.Message}", e);
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellation);
        await Execute(connection, $"SELECT pg_advisory_xact_lock({LockKey})", cancellation);
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('orleansquery') IS NOT NULL", connection))
        {
            if ((bool)(await exists.ExecuteScalarAsync(cancellation))!)
            {
                await transaction.CommitAsync(cancellation);
                return;
            }
        }
        foreach (var script in Scripts) await Execute(connection, Read(script), cancellation);
        await transaction.CommitAsync(cancellation);
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellation)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellation);
    }

    private static string Read(string script)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"ParticleGrid.Host.Sql.{script}")
            ?? throw new InvalidOperationException($"the Orleans script {script} is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
