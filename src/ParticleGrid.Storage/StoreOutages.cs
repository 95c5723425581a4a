using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ParticleGrid.Storage;

/// <summary>
/// Which failures of the particle store are outages: the database is down or unreachable, its disk is full, or it is
/// too busy to answer now. A caller waits and tries again after one of these (nothing was written: each write is one
/// transaction); anything else is a bug or bad data and is not retried.
/// </summary>
public static class StoreOutages
{
    // SQLite result codes (https://sqlite.org/rescode.html) that say "not now", not "never": busy, locked, read-only (a
    // disk remounted read-only), an I/O error, the disk full, the file not openable (its directory gone or unmounted).
    private const int SqliteBusy = 5, SqliteLocked = 6, SqliteReadOnly = 8, SqliteIoError = 10, SqliteFull = 13, SqliteCantOpen = 14;

    public static bool IsOutage(Exception e) => e switch
    {
        SqliteException sqlite => (sqlite.SqliteErrorCode & 0xFF) is SqliteBusy or SqliteLocked or SqliteReadOnly or SqliteIoError or SqliteFull or SqliteCantOpen,
        // Npgsql says which of its failures may pass (the server down or shutting down, too many connections, a broken socket).
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        DbException => false,
        IOException or SocketException or TimeoutException => true,
        _ => false,
    };

    /// <summary>Why the store cannot be written, in a user's words: a full disk is said as such.</summary>
    public static string Describe(Exception e) => $"{Cause(e)} ({e.Message.Trim()})";

    /// <summary>
    /// <see cref="Describe"/> without the exception's text, for answers to callers who have not been identified yet (a
    /// token check): a driver's message can name hosts, users and paths.
    /// </summary>
    public static string Cause(Exception e) => e is SqliteException sqlite && (sqlite.SqliteErrorCode & 0xFF) == SqliteFull
        || e is IOException { HResult: 28 or unchecked((int)0x80070070) }
        ? "its disk is full"
        : "it is not reachable";
}
