using ParticleGrid.Inference.Engines;

namespace ParticleGrid.Grains.Workers;

/// <summary>
/// What a worker silo advertises it computes on: "cpu", or the CUDA device it runs the networks on ("cuda:0").
/// One worker silo drives one device; a machine with several GPUs runs one worker silo per GPU
/// (CUDA_VISIBLE_DEVICES), so placement and batching see each device as its own worker.
/// </summary>
public static class DeviceDescriptions
{
    /// <exception cref="EngineUnavailableException">The configured engine or device is not in this build or host.</exception>
    public static string For(WorkerOptions options) => InferenceEngines.Resolve(options.Engine, options.Device).Device;
}
