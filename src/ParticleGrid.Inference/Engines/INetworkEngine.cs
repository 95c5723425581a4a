namespace ParticleGrid.Inference.Engines;

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

    /// <summary>Softmax probabilities, one array per image, in the network's class order.</summary>
    /// <param name="planes">CHW planes in [0, 1] at <see cref="InputSize"/> (as <c>ParticlePreprocessor.ToPlanes</c> gives them); never changed.</param>
    IReadOnlyList<float[]> Probabilities(IReadOnlyList<float[]> planes);
}
