using ParticleGrid.Inference.Prediction;

namespace ParticleGrid.Serving.Engines;

/// <summary>
/// One network, loaded on one device by one inference engine, turning preprocessed particle images into class
/// probabilities. Not thread-safe: one caller (a worker's batch loop) runs it.
/// </summary>
public interface INetworkEngine : IDisposable
{
    /// <summary>What runs the network: <c>onnxruntime</c> or <c>torchsharp</c> (see <see cref="InferenceEngines"/>).</summary>
    string Engine { get; }

    /// <summary>Where it runs: <c>cpu</c> or <c>cuda:N</c>.</summary>
    string Device { get; }

    int InputSize { get; }

    /// <summary>Class logits and the stage features (see <see cref="Networks.IParticleNetwork.StageFeatures"/>), one array each per image.</summary>
    /// <param name="planes">CHW planes in [0, 1] at <see cref="InputSize"/> (as <c>ParticlePreprocessor.ToPlanes</c> gives them); never changed.</param>
    NetworkOutputs Run(IReadOnlyList<float[]> planes);

    /// <summary>Softmax probabilities at temperature 1 (uncalibrated), one array per image, in the network's class order.</summary>
    IReadOnlyList<float[]> Probabilities(IReadOnlyList<float[]> planes) =>
        [.. Run(planes).Logits.Select(logits => Domain.Confidence.TemperatureScaling.Softmax(logits))];
}
