using System.Text.Json;
using System.Text.Json.Serialization;

namespace ParticleGrid.Inference.Models;

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
/// <c>manifest.json</c> beside a model's weights: what the network is, what it was trained on and how, and how well
/// it did. Predictions name <see cref="Version"/> so a lot's lineage survives model upgrades.
/// </summary>
public sealed record ModelManifest(
    string Format, string Architecture, IReadOnlyList<string> Classes, int InputSize, NormalizationSpec Normalization,
    string WeightsFile, string WeightsSha256, TrainingData Data, TrainingRecipe Training, ValidationMetrics Validation,
    IReadOnlyList<EpochRecord> History, DateTimeOffset CreatedUtc)
{
    public const string CurrentFormat = "particlegrid-model/1";
    public const string FileName = "manifest.json";

    /// <summary>A short identity: architecture and the first 12 hex digits of the weights' SHA-256.</summary>
    [JsonIgnore] public string Version => $"{Architecture}@{WeightsSha256[..12]}";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
