using static TorchSharp.torch;

namespace ParticleGrid.Inference.Networks;

/// <summary>
/// A network split at its classifier: the pooled features it classifies from, and the linear head. Calibration and
/// the out-of-scope score need the features (what the network "saw"), not only the class scores it ends with.
/// </summary>
public interface IParticleNetwork
{
    /// <summary>Images [N, 3, H, W] to the globally pooled features the classifier reads [N, D].</summary>
    Tensor PooledFeatures(Tensor images);

    /// <summary>Pooled features [N, D] to class logits [N, classes]: the classifier alone.</summary>
    Tensor Classify(Tensor pooledFeatures);
}
