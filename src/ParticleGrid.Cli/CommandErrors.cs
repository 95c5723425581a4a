using ParticleGrid.Imaging;
using ParticleGrid.Inference.Data;
using ParticleGrid.Inference.Models;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Inference.Training;

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
    }

    static bool IsUserError(Exception e) => e is ParticleImageException or DataFolderException or ModelDirectoryException
        or CheckpointException or TrainingDivergedException or ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException
        or Ingest.ExportException or Abstractions.ModelSetRefusedException or Abstractions.NoModelSetException or System.Net.Sockets.SocketException;
}
