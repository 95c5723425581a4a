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
