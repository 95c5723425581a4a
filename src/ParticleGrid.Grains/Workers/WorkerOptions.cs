using ParticleGrid.Domain;

namespace ParticleGrid.Grains.Workers;

/// <summary>How a worker silo computes: its device, its batching, and how the ensemble votes.</summary>
public sealed class WorkerOptions
{
    /// <summary>"auto", "cpu" or "cuda" (see <c>ComputeDevices</c>).</summary>
    public string Device { get; set; } = "auto";

    /// <summary>
    /// What runs the networks: "auto" (the fastest this build has for the device: ONNX Runtime, on a GPU through its
    /// CUDA execution provider when the build carries it), "onnxruntime" or "torchsharp" (see <c>InferenceEngines</c>).
    /// </summary>
    public string Engine { get; set; } = "auto";

    /// <summary>CPU threads per network operator (ONNX Runtime); 0 uses every core.</summary>
    public int Threads { get; set; }

    public int MaxBatchSize { get; set; } = 32;

    public int MaxQueueDelayMs { get; set; } = 20;

    public int QueueCapacity { get; set; } = 1024;

    /// <summary>Soft (mean of probabilities, the default), Majority or Weighted.</summary>
    public VoteRule Vote { get; set; } = VoteRule.Soft;

    /// <summary>A winning probability below this makes a particle uncertain (the study's 0.90).</summary>
    public double ConfidenceThreshold { get; set; } = 0.90;

    /// <summary>For <see cref="VoteRule.Weighted"/>: one weight per network, in the model set's order.</summary>
    public double[]? Weights { get; set; }

    public BatchingOptions Batching => new(MaxBatchSize, TimeSpan.FromMilliseconds(MaxQueueDelayMs), QueueCapacity);

    public EnsembleVoter CreateVoter() => new(Vote, ConfidenceThreshold, Vote == VoteRule.Weighted ? Weights : null);
}

/// <summary>How a worker forms batches and how much it queues.</summary>
/// <param name="MaxBatchSize">A batch runs as soon as this many particles wait.</param>
/// <param name="MaxQueueDelay">...or when the oldest waiting particle has waited this long, whichever comes first.</param>
/// <param name="QueueCapacity">The most particles waiting; beyond it callers are told to retry later.</param>
public sealed record BatchingOptions(int MaxBatchSize = 32, TimeSpan? MaxQueueDelay = null, int QueueCapacity = 1024)
{
    public TimeSpan Delay => MaxQueueDelay ?? TimeSpan.FromMilliseconds(20);

    public void Validate()
    {
        if (MaxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "The batch size must be at least 1.");
        if (QueueCapacity < MaxBatchSize) throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "The queue must hold at least one batch.");
        if (Delay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MaxQueueDelay), Delay, "The queue delay cannot be negative.");
    }
}
