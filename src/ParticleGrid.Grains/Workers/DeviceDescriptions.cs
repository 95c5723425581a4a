using ParticleGrid.Inference;

namespace ParticleGrid.Grains.Workers;

/// <summary>What a worker silo advertises it computes on: "cpu", or "cuda:0,cuda:1" for each CUDA device it sees.</summary>
public static class DeviceDescriptions
{
    public static string For(string deviceChoice)
    {
        var device = ComputeDevices.Resolve(deviceChoice);
        return device.type == TorchSharp.DeviceType.CUDA
            ? string.Join(',', Enumerable.Range(0, TorchSharp.torch.cuda.device_count()).Select(i => $"cuda:{i}"))
            : "cpu";
    }
}
