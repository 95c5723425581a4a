using ParticleGrid.Imaging;
using ParticleGrid.Inference.Data;
using ParticleGrid.Training.Data;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Training;
using ParticleGrid.Ingestion;

namespace ParticleGrid.Cli;

/// <summary>
/// Runs a command's body and turns the failures a user can cause (bad folders, images, checkpoints, options) into one
/// line on standard error and exit code 1; Ctrl-C gives 130. Anything else is a bug and keeps its stack trace.
/// The skeleton is <see cref="CommandGuard"/>, shared with the instrument client; this adds the CLI's own user errors.
/// </summary>
public static class CommandErrors
{
    public const int Failed = CommandGuard.Failed, Cancelled = CommandGuard.Cancelled;

    public static Task<int> Guard(Func<Task<int>> body) => CommandGuard.Run(body, Explain);

    /// <summary>The line for a failure the user can fix (a PostgreSQL one says what to do), or null for a bug.</summary>
    static string? Explain(Exception e)
    {
        if (IsUserError(e)) return e.Message;
        if (Find<Npgsql.PostgresException>(e) is { } refused) return PostgresAdvice(refused);
        if (Find<Npgsql.NpgsqlException>(e) is { } unreachable)
            return $"PostgreSQL: {unreachable.Message}{(unreachable.InnerException is { } inner ? $" ({inner.Message})" : "")}; " +
                "check PARTICLEGRID__POSTGRESCONNECTIONSTRING (or --postgres) and that the server runs (bash .ci/postgres.sh starts Debian's)";
        return null;
    }

    /// <summary>The first exception of this type in the chain (hosts wrap start-up failures in their own exceptions).</summary>
    static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found) return found;
            if (e is AggregateException many && many.InnerExceptions.Select(Find<T>).FirstOrDefault(f => f is not null) is { } inMany) return inMany;
        }
        return null;
    }

    /// <summary>What PostgreSQL refused, in one line that says what to do.</summary>
    static string PostgresAdvice(Npgsql.PostgresException e) => e.SqlState switch
    {
        // PostgreSQL 15+ gives ordinary roles no CREATE on schema public of a database they do not own.
        "42501" => $"PostgreSQL refused to create ParticleGrid's tables ({e.MessageText}): give it a database its role owns, " +
                   "e.g. sudo -u postgres createdb -O particlegrid particlegrid, and Database=particlegrid in the connection string " +
                   "(bash .ci/postgres.sh makes both)",
        "28P01" or "28000" => $"PostgreSQL refused the login ({e.MessageText}): check the user and password in the connection string",
        "3D000" => $"PostgreSQL has no such database ({e.MessageText}): create it (createdb -O ROLE NAME) or fix Database= in the connection string",
        _ => $"PostgreSQL: {e.SqlState} {e.MessageText}",
    };

    /// <summary>Ingest's user errors (bad options, folders, exports, an unreachable site) and those of training and models.</summary>
    static bool IsUserError(Exception e) => CommandGuard.IsIngestUserError(e) || e is DataFolderException or ModelDirectoryException
        or CheckpointException or TrainingDivergedException;
}
