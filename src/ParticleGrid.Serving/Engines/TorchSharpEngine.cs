using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Prediction;

namespace ParticleGrid.Serving.Engines;

/// <summary>
/// The network as a TorchSharp module, run eagerly: the reference every other engine is held to, and the engine for
/// CUDA devices when this build carries libtorch's CUDA natives.
/// </summary>
public sealed class TorchSharpEngine(LoadedModel model, int maxBatch = 64) : INetworkEngine
{
    readonly NetworkRunner classifier = new(model.Network, model.Manifest.InputSize, model.Normalization, model.Device, maxBatch);

    public string Engine => InferenceEngines.TorchSharp;

    public string Device => model.Device.type == TorchSharp.DeviceType.CUDA ? $"cuda:{Math.Max(0, model.Device.index)}" : "cpu";

    public int InputSize => model.Manifest.InputSize;

    public NetworkOutputs Run(IReadOnlyList<float[]> planes) => classifier.Outputs(planes);

    public void Dispose() => model.Dispose();
}
