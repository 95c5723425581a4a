using ParticleGrid.Inference;

namespace ParticleGrid.Grains.Workers;

/// <summary>
/// What a worker silo advertises it computes on: "cpu", or the CUDA device it runs the networks on ("cuda:0").
/// One worker silo drives one device; a machine with several GPUs runs one worker silo per GPU
/// (CUDA_VISIBLE_DEVICES), so placement and batching see each device as its own worker.
/// </summary>
public static class DeviceDescriptions
{
    public static string For(string deviceChoice)
    {
        var device = ComputeDevices.Resolve(deviceChoice);
        return device.type == TorchSharp.DeviceType.CUDA ? $"cuda:{Math.Max(0, device.index)}" : "cpu";
    }
}
