namespace ParticleGrid.Inference.Networks;

/// <summary>
/// A network split at its classifier: the features the out-of-scope score reads, and the linear head. Calibration and
/// the out-of-scope score need the features (what the network "saw"), not only the class scores it ends with.
/// <para>The features are every stage's output, globally average-pooled, side by side (ResNet50's four layers,
/// DenseNet201's three transitions and its final map, ShuffleNetV2's stages 2-4 and conv5): early stages describe
/// edges, contrast and texture, the last one the shapes the classes differ by. The pooled penultimate features alone
/// are trained to ignore whatever does not tell the four types apart, so an image unlike the training data can land
/// right on a class centre there (Lee et al. 2018 fit the same score at every stage for this reason). The last block
/// is exactly what the classifier reads.</para>
/// </summary>
public interface IParticleNetwork
{
    /// <summary>Images [N, 3, H, W] to the pooled output of each stage, concatenated [N, sum of <see cref="ModelRepository.ModelArchitectures.StageWidths"/>].</summary>
    Tensor StageFeatures(Tensor images);

    /// <summary>Stage features [N, D] from <see cref="StageFeatures"/> to class logits [N, classes]: the classifier on the last stage's block.</summary>
    Tensor Classify(Tensor stageFeatures);
}
