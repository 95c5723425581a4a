using System.Text.Json;
using System.Text.Json.Serialization;

namespace ParticleGrid.ModelRepository;

/// <summary>How a model was trained: the recipe, so a result can be reproduced and compared.</summary>
public sealed record TrainingRecipe(
    int Epochs, double LearningRate, int BatchSize, double ValidationFraction, int Seed, string Device,
    string Optimizer, string Schedule, string Augmentation, string? InitialWeights);

/// <summary>Where the training images came from and their identity (a hash over classes, names and contents).</summary>
public sealed record TrainingData(string Path, string Sha256, int ImageCount, IReadOnlyDictionary<string, int> ImagesPerClass,
    int TrainCount, int ValidationCount);

public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy, double Seconds);

public sealed record ClassValidationMetrics(string Class, int Support, double Precision, double Recall, double F1, double Auc);

/// <summary>The kept weights' scores on the validation split.</summary>
public sealed record ValidationMetrics(int Epoch, double Accuracy, double Loss, IReadOnlyList<ClassValidationMetrics> PerClass,
    IReadOnlyList<IReadOnlyList<int>> Confusion);

public sealed record NormalizationSpec(IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>The normalisation the preprocessing applies: (value - mean) / std per channel.</summary>
    public Imaging.ChannelNormalization ToChannelNormalization() => new([.. Mean], [.. Std]);
}

/// <summary>
/// How far the network's probabilities can be taken at their word, fitted on the validation split: the temperature the
/// logits are divided by, and the validation figures before and after (NLL, ECE over 15 bins).
/// </summary>
public sealed record ConfidenceCalibration(double Temperature, int ValidationImages,
    double NllBefore, double NllAfter, double EceBefore, double EceAfter);

/// <summary>
/// How the network says "unknown": the method, the reference of in-scope training features it is measured against
/// (a file beside the weights, named by its SHA-256), and the threshold, set on the validation split so that
/// <see cref="KeptShareTarget"/> of in-scope images stay below it (<see cref="ValidationKeptShare"/> is what it kept).
/// <see cref="StageWidths"/> are the widths of the network stages the reference reads, side by side.
/// </summary>
public sealed record OutOfScopeDetection(string Method, string ReferenceFile, string ReferenceSha256, int FeatureDimensions,
    int Components, double Threshold, double KeptShareTarget, double ValidationKeptShare, int TrainingImages, int ValidationImages,
    IReadOnlyList<int>? StageWidths = null);

/// <summary>
/// <c>manifest.json</c> beside a model's weights: what the network is, what it was trained on and how, and how well
/// it did. Predictions name <see cref="Version"/> so a lot's lineage survives model upgrades.
/// </summary>
public sealed record ModelManifest(
    string Format, string Architecture, IReadOnlyList<string> Classes, int InputSize, NormalizationSpec Normalization,
    string WeightsFile, string WeightsSha256, TrainingData Data, TrainingRecipe Training, ValidationMetrics Validation,
    IReadOnlyList<EpochRecord> History, DateTimeOffset CreatedUtc,
    ConfidenceCalibration? Calibration = null, OutOfScopeDetection? OutOfScope = null)
{
    public const string CurrentFormat = "particlegrid-model/1";
    public const string FileName = "manifest.json";

    /// <summary>
    /// A short identity: the architecture and 12 hex digits that cover everything that changes the model's answers.
    /// Without calibration they are the weights' SHA-256 (models trained before calibration keep their versions); with
    /// it, a hash of the weights' SHA-256, the temperature, the out-of-scope threshold and the reference's SHA-256, so a
    /// particle's lineage names exactly what judged it.
    /// </summary>
    [JsonIgnore] public string Version => Calibration is null && OutOfScope is null
        ? $"{Architecture}@{WeightsSha256[..12]}"
        : $"{Architecture}@{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            $"{WeightsSha256}|{Calibration?.Temperature.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}|" +
            $"{OutOfScope?.Threshold.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}|{OutOfScope?.ReferenceSha256}")))[..12]}";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
