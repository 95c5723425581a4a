using ParticleGrid.Inference.Networks;
using ParticleGrid.Inference.Tests.Support;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ParticleGrid.Inference.Tests.ReferenceParity;

/// <summary>
/// Each network computes what torchvision computes, with weights travelling both ways as .pth files:
/// our randomised network saved here and loaded strictly by PyTorch, and PyTorch's randomised network loaded
/// strictly here. On the same input batch, at the ImageNet size and at a small particle-crop size, both sides must
/// agree on every argmax and on every softmax probability within <see cref="ProbabilityTolerance"/>. Logits are held
/// to <see cref="RelativeLogitTolerance"/> as well, since a confident network's softmax saturates and would hide
/// a difference.
/// </summary>
public sealed class TorchvisionParityTests(ITestOutputHelper output)
{
    const int ClassCount = 4;
    const int BatchSize = 2;
    const ulong Seed = 1729;
    /// <summary>
    /// Another seed for PyTorch's network: libtorch's generator is the same on both sides, so one seed would give
    /// both directions the very same weights.
    /// </summary>
    const ulong TorchvisionSeed = 2718;
    const float ProbabilityTolerance = 1e-5f;
    /// <summary>Of the largest logit magnitude (at least 1).</summary>
    const float RelativeLogitTolerance = 1e-5f;
    static readonly int[] ImageSizes = [224, 64];

    [SkippableTheory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void Outputs_match_torchvision_with_weights_from_either_side(string architecture)
    {
        Prerequisite.Torch.SkipIfMissing();
        using var directory = new TemporaryDirectory();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        var generator = new Generator(Seed);
        var images = ImageSizes.ToDictionary(size => size, size => randn([BatchSize, 3, size, size], generator: generator));
        foreach (var (size, batch) in images)
            RawFloat32.Write(directory.File($"input-{size}.f32"), batch);

        manual_seed((long)Seed); // the networks' own initialisation draws from the global generator
        using var ours = ParticleNetworks.Create(architecture, ClassCount);
        BatchNormStatistics.SettleAndRandomise(ours, Seed);
        ParticleNetworks.SaveCheckpoint(ours, directory.File("csharp.pth"));

        string versions = TorchvisionReference.Run([
            "parity",
            "--architecture", architecture,
            "--classes", ClassCount.ToString(),
            "--batch", BatchSize.ToString(),
            "--sizes", .. ImageSizes.Select(size => size.ToString()),
            "--seed", TorchvisionSeed.ToString(),
            "--directory", directory.Path]);
        output.WriteLine(versions.Trim());

        using var torchvisions = ParticleNetworks.Create(architecture, ClassCount);
        ParticleNetworks.LoadCheckpoint(torchvisions, architecture, directory.File("torchvision.pth"));
        torchvisions.eval();

        var comparisons = new List<Comparison>();
        foreach (var (size, batch) in images)
        {
            comparisons.Add(Compare($"{architecture} {size} px, C# weights", ours.call(batch), directory, "torchvision-on-csharp-weights", size));
            comparisons.Add(Compare($"{architecture} {size} px, torchvision weights", torchvisions.call(batch), directory, "torchvision-on-torchvision-weights", size));
        }

        Assert.All(comparisons, comparison =>
        {
            Assert.True(comparison.SameArgmax, $"{comparison.Case}: argmax differs from torchvision's.");
            Assert.True(comparison.MaxProbabilityDifference <= ProbabilityTolerance,
                $"{comparison.Case}: max |p - p_torchvision| = {comparison.MaxProbabilityDifference:E2} > {ProbabilityTolerance:E0}.");
            Assert.True(comparison.RelativeLogitDifference <= RelativeLogitTolerance,
                $"{comparison.Case}: logits differ from torchvision's by {comparison.RelativeLogitDifference:E2} of their scale > {RelativeLogitTolerance:E0}.");
        });
    }

    sealed record Comparison(string Case, bool SameArgmax, float MaxProbabilityDifference, float RelativeLogitDifference);

    Comparison Compare(string testCase, Tensor ourLogits, TemporaryDirectory directory, string torchvisionStem, int size)
    {
        var theirLogits = RawFloat32.Read(directory.File($"{torchvisionStem}-logits-{size}.f32"), BatchSize, ClassCount);
        var theirProbabilities = RawFloat32.Read(directory.File($"{torchvisionStem}-probabilities-{size}.f32"), BatchSize, ClassCount);
        var ourProbabilities = functional.softmax(ourLogits, dim: 1);

        float maxProbabilityDifference = (ourProbabilities - theirProbabilities).abs().max().item<float>();
        float logitScale = Math.Max(1f, theirLogits.abs().max().item<float>());
        float relativeLogitDifference = (ourLogits - theirLogits).abs().max().item<float>() / logitScale;
        long[] ourClasses = ourProbabilities.argmax(1).data<long>().ToArray();
        long[] theirClasses = theirProbabilities.argmax(1).data<long>().ToArray();

        output.WriteLine($"{testCase}: max |Δp| = {maxProbabilityDifference:E2}, max |Δlogit| / scale = {relativeLogitDifference:E2} " +
            $"(scale {logitScale:F1}), argmax C# [{string.Join(", ", ourClasses)}] torchvision [{string.Join(", ", theirClasses)}], " +
            $"C# p = [{Format(ourProbabilities)}]");
        return new Comparison(testCase, ourClasses.SequenceEqual(theirClasses), maxProbabilityDifference, relativeLogitDifference);
    }

    static string Format(Tensor probabilities) =>
        string.Join("; ", Enumerable.Range(0, (int)probabilities.shape[0])
            .Select(row => string.Join(" ", probabilities[row].data<float>().ToArray().Select(p => p.ToString("F4")))));
}
