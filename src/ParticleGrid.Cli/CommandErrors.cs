using ParticleGrid.Imaging;
using ParticleGrid.Inference.Data;
using ParticleGrid.Training.Data;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Training;

namespace ParticleGrid.Cli;

/// <summary>
/// Runs a command's body and turns the failures a user can cause (bad folders, images, checkpoints, options) into one
/// line on standard error and exit code 1; Ctrl-C gives 130. Anything else is a bug and keeps its stack trace.
/// </summary>
public static class CommandErrors
{
    public const int Failed = 1, Cancelled = 130;

    public static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            try { return await body(); }
            catch (AggregateException many) when (many.Flatten().InnerExceptions.Count == 1)
            {
                // Parallel loops wrap what their bodies throw; report the one cause as the user error it is.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(many.Flatten().InnerExceptions[0]);
                throw;
            }
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("cancelled; nothing was written");
            return Cancelled;
        }
        catch (Exception e) when (IsUserError(e))
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return Failed;
        }
        catch (Exception e) when (Find<Npgsql.PostgresException>(e) is { } refused)
        {
            await Console.Error.WriteLineAsync($"error: {PostgresAdvice(refused)}");
            return Failed;
        }
        catch (Exception e) when (Find<Npgsql.NpgsqlException>(e) is { } unreachable)
        {
            await Console.Error.WriteLineAsync($"error: PostgreSQL: {unreachable.Message}{(unreachable.InnerException is { } inner ? $" ({inner.Message})" : "")}; " +
                "check PARTICLEGRID__POSTGRESCONNECTIONSTRING (or --postgres) and that the server runs (bash .ci/postgres.sh starts Debian's)");
            return Failed;
        }
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

    static bool IsUserError(Exception e) => e is ParticleImageException or DataFolderException or ModelDirectoryException
        or CheckpointException or TrainingDivergedException or ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException
        or Ingest.ExportException or Abstractions.ModelSetRefusedException or Abstractions.NoModelSetException or System.Net.Sockets.SocketException;
}
