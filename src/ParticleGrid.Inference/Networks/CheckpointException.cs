namespace ParticleGrid.Inference.Networks;

/// <summary>
/// A checkpoint file that cannot be loaded into a network: it is missing, is not a PyTorch state_dict, belongs to
/// another architecture, or holds tensors of other shapes. The message is one line naming the file and the cause.
/// </summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException(string checkpointPath, string cause, Exception? innerException = null)
        : base(OneLine($"Checkpoint '{checkpointPath}' {cause}"), innerException)
    {
        CheckpointPath = checkpointPath;
    }

    /// <summary>The file that could not be loaded.</summary>
    public string CheckpointPath { get; }

    static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
