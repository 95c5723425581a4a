using ParticleGrid.Domain;
using ParticleGrid.Domain.Confidence;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Prediction;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ParticleGrid.Training;

/// <summary>
/// After training, with the kept weights: fits the temperature on the validation split, and the out-of-scope reference
/// on the training split's stage features (its standardisation on the validation split's), then sets its threshold on
/// the validation split so that
/// <see cref="KeptShareTarget"/> of in-scope images stay in scope. Nothing here sees an out-of-scope image: the method,
/// its settings and its threshold come from in-scope data alone, so a held-out out-of-scope set measures it honestly.
/// </summary>
public static class ConfidenceFitting
{
    /// <summary>The share of in-scope validation images the threshold keeps (the rest would be called unknown).</summary>
    public const double KeptShareTarget = 0.95;

    /// <summary>Principal components modelled in full; the rest share one variance (probabilistic PCA).</summary>
    public const int MaxComponents = 64;

    /// <summary>Shrinkage of the within-class covariance towards its mean variance: a few hundred images estimate it poorly.</summary>
    public const double Shrinkage = 0.1;

    public const string Method = "per network stage, class-conditional Gaussians with a shared covariance (probabilistic PCA, 64 components, " +
                                 "shrinkage 0.1) on the stage's globally pooled output, fitted on the training split; squared Mahalanobis " +
                                 "distance to the nearest class, its logarithm standardised on the validation split; with class-conditional Gaussians " +
                                 "(own covariance) on the image's appearance (ln contrast, ln elongation, body sign), standardised alike; " +
                                 "score: exp of the larger of the mean over stages and the appearance";

    public sealed record Fitted(ConfidenceCalibration Calibration, OutOfScopeDetection OutOfScope, OutOfScopeReference Reference);

    public static Fitted Fit(Module<Tensor, Tensor> network, string architecture, IReadOnlyList<int> train, IReadOnlyList<int> validation,
        float[][] planes, int[] labels, int classCount, int inputSize, ChannelNormalization normalization, Device device)
    {
        // The same forward the engines run at inference: eval mode, no augmentation.
        var runner = new NetworkRunner(network, inputSize, normalization, device);
        var trainFeatures = runner.Outputs([.. train.Select(i => planes[i])]).Features;
        var (validationLogits, validationFeatures) = runner.Outputs([.. validation.Select(i => planes[i])]);
        var validationLabels = validation.Select(i => labels[i]).ToList();

        double temperature = TemperatureScaling.Fit(validationLogits, validationLabels);
        var before = validationLogits.Select(l => (IReadOnlyList<float>)TemperatureScaling.Softmax(l)).ToList();
        var after = validationLogits.Select(l => (IReadOnlyList<float>)TemperatureScaling.Softmax(l, temperature)).ToList();
        var calibration = new ConfidenceCalibration(temperature, validation.Count,
            TemperatureScaling.NegativeLogLikelihood(validationLogits, validationLabels, 1),
            TemperatureScaling.NegativeLogLikelihood(validationLogits, validationLabels, temperature),
            CalibrationError.Of(before, validationLabels).Value, CalibrationError.Of(after, validationLabels).Value);

        var widths = ModelArchitectures.StageWidths(architecture);
        var trainLabels = train.Select(i => labels[i]).ToList();
        var stages = new List<FeatureReference>(widths.Count);
        int offset = 0;
        foreach (int width in widths)
        {
            int at = offset;
            stages.Add(FitReference([.. trainFeatures.Select(f => f[at..(at + width)])], trainLabels, classCount));
            offset += width;
        }
        // The image's own appearance (contrast, elongation, body sign) from the same planes the network saw.
        var trainAppearance = train.Select(i => ParticleAppearance.Describe(planes[i], inputSize)).ToList();
        var validationAppearance = validation.Select(i => ParticleAppearance.Describe(planes[i], inputSize)).ToList();
        var appearance = AppearanceReference.Fit(trainAppearance, trainLabels, classCount, validationAppearance);

        var reference = OutOfScopeReference.Standardise(stages, validationFeatures, appearance);
        var scores = validationFeatures.Zip(validationAppearance, (f, a) => reference.Score(f, a)).Order().ToList();
        double threshold = scores[Math.Clamp((int)Math.Ceiling(KeptShareTarget * scores.Count) - 1, 0, scores.Count - 1)];
        double kept = (double)scores.Count(s => s <= threshold) / scores.Count;
        var outOfScope = new OutOfScopeDetection(Method, ModelFolder.OutOfScopeReferenceFileName, reference.Sha256(),
            reference.FeatureDimensions, reference.Components, threshold, KeptShareTarget, kept, train.Count, validation.Count, widths);
        return new Fitted(calibration, outOfScope, reference);
    }

    /// <summary>
    /// Fits <see cref="FeatureReference"/>: the principal directions of the training features (libtorch's symmetric
    /// eigensolver, in double precision), each class's centre in them, and the shrunk shared within-class covariance.
    /// </summary>
    public static FeatureReference FitReference(IReadOnlyList<float[]> features, IReadOnlyList<int> labels, int classCount)
    {
        int n = features.Count, d = features[0].Length;
        int k = Math.Clamp(Math.Min(MaxComponents, n - classCount - 1), 1, d - 1);
        using var scope = torch.NewDisposeScope();
        var all = torch.tensor(features.SelectMany(f => f.Select(v => (double)v)).ToArray(), [n, d], ScalarType.Float64);
        var mean = all.mean([0]);
        var centred = all - mean;
        var covariance = centred.t().matmul(centred) / Math.Max(1, n - 1);
        var (eigenvalues, eigenvectors) = torch.linalg.eigh(covariance); // ascending
        var top = eigenvectors.narrow(1, d - k, k);                      // [d, k]
        double totalVariance = covariance.trace().item<double>();
        double kept = eigenvalues.narrow(0, d - k, k).sum().item<double>();
        double residual = Math.Max((totalVariance - kept) / (d - k), 1e-6 * totalVariance / d + 1e-12);

        var projected = centred.matmul(top); // [n, k]
        var labelTensor = torch.tensor(labels.Select(l => (long)l).ToArray());
        var centres = torch.zeros(classCount, k, ScalarType.Float64);
        var within = torch.zeros(k, k, ScalarType.Float64);
        for (int c = 0; c < classCount; c++)
        {
            var members = projected.index(labelTensor.eq(c));
            if (members.shape[0] == 0) continue;
            var centre = members.mean([0]);
            centres[c] = centre;
            var deviation = members - centre;
            within += deviation.t().matmul(deviation);
        }
        within /= Math.Max(1, n - classCount);
        double meanVariance = within.trace().item<double>() / k;
        var shrunk = within * (1 - Shrinkage) + torch.eye(k, dtype: ScalarType.Float64) * (Shrinkage * meanVariance + 1e-12);
        var precision = torch.linalg.inv(shrunk);

        static float[] Floats(Tensor t) => [.. t.contiguous().to_type(ScalarType.Float32).data<float>()];
        return new FeatureReference(Floats(mean), Floats(top.t()), Floats(centres), Floats(precision), residual);
    }
}
