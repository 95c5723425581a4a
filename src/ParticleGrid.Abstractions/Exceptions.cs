namespace ParticleGrid.Abstractions;

/// <summary>A worker's queue is full. Nothing of the request was taken; send it again after <see cref="RetryAfterMs"/>.</summary>
[GenerateSerializer]
public sealed class WorkerBusyException : Exception
{
    public WorkerBusyException() { }

    public WorkerBusyException(string message, int retryAfterMs) : base(message) => RetryAfterMs = retryAfterMs;

    [Id(0)] public int RetryAfterMs { get; init; }
}

/// <summary>No model set is active, so nothing can be classified. Register and activate one first.</summary>
[GenerateSerializer]
public sealed class NoModelSetException : Exception
{
    public NoModelSetException() { }
    public NoModelSetException(string message) : base(message) { }
}

/// <summary>A model set was refused (the networks' classes differ, a folder is not a model...).</summary>
[GenerateSerializer]
public sealed class ModelSetRefusedException : Exception
{
    public ModelSetRefusedException() { }
    public ModelSetRefusedException(string message) : base(message) { }
}

/// <summary>
/// A run's description of its lot would change a container volume or product already set: only an admin changes those,
/// with a reason (PUT /lots/{lot}). Nothing was changed and the run was not started.
/// </summary>
[GenerateSerializer]
public sealed class LotChangeRefusedException : Exception
{
    public LotChangeRefusedException() { }
    public LotChangeRefusedException(string message) : base(message) { }
}

/// <summary>
/// A run cannot record now: no worker could classify, or the particle store could not be read or written, for as long
/// as one call waits (an outage, not the particles' fault). Nothing of the call was recorded and no particle was marked
/// failed; send the same request again after <see cref="RetryAfterMs"/>: the run resumes where it was.
/// </summary>
[GenerateSerializer]
public sealed class RunPausedException : Exception
{
    public RunPausedException() { }

    public RunPausedException(string message, int retryAfterMs) : base(message) => RetryAfterMs = retryAfterMs;

    [Id(0)] public int RetryAfterMs { get; init; }
}
