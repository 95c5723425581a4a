using System.Text.Json;
using ParticleGrid.Inference.Networks;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ParticleGrid.Inference.Tests.ReferenceParity;

/// <summary>One state_dict entry: its layout, and the mean and population standard deviation of its values.</summary>
public sealed record TensorSummary(string Key, long[] Shape, string DType, double Mean, double StandardDeviation)
{
    /// <summary><c>key [shape] dtype</c>.</summary>
    public string Layout => LayoutOf(Key, Shape, DType);

    public long ElementCount => Shape.Aggregate(1L, (product, length) => product * length);

    public static string LayoutOf(string key, Tensor tensor) => LayoutOf(key, tensor.shape, tensor.dtype.ToString().ToLowerInvariant());

    static string LayoutOf(string key, long[] shape, string dtype) => $"{key} [{string.Join(", ", shape)}] {dtype}";

    /// <summary>Statistics in float32: ample for comparing distributions, and exact for constant tensors.</summary>
    public static TensorSummary Of(string key, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var values = tensor.detach().to_type(ScalarType.Float32);
        return new TensorSummary(key, tensor.shape, tensor.dtype.ToString().ToLowerInvariant(),
            values.mean().item<float>(), values.std(unbiased: false).item<float>());
    }
}

/// <summary>
/// torchvision's state_dicts as it builds and initialises each network after <c>torch.manual_seed(Seed)</c>,
/// asked of PyTorch once for all the tests in <see cref="StateDictLayoutTests"/>.
/// </summary>
public sealed class TorchvisionStateDicts
{
    public const int ClassCount = 4;
    public const int Seed = 31;

    readonly Lazy<Dictionary<string, List<TensorSummary>>> byArchitecture = new(() =>
    {
        string json = TorchvisionReference.Run("layout", "--classes", ClassCount.ToString(), "--seed", Seed.ToString());
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateObject().ToDictionary(
            architecture => architecture.Name,
            architecture => architecture.Value.EnumerateArray()
                .Select(entry => new TensorSummary(
                    entry[0].GetString()!,
                    entry[1].EnumerateArray().Select(length => length.GetInt64()).ToArray(),
                    entry[2].GetString()!,
                    entry[3].GetDouble(),
                    entry[4].GetDouble()))
                .ToList());
    });

    /// <summary>torchvision's entries, in its state_dict order.</summary>
    public IReadOnlyList<TensorSummary> Of(string architecture) => byArchitecture.Value[architecture];
}

/// <summary>
/// Each network's state_dict is torchvision's: the same keys with the same shapes and dtypes, buffers
/// (<c>num_batches_tracked</c> included) and all; and a fresh network is initialised as torchvision initialises it.
/// </summary>
public sealed class StateDictLayoutTests(TorchvisionStateDicts torchvision, ITestOutputHelper output) : IClassFixture<TorchvisionStateDicts>
{
    /// <summary>Tensors this large have a sample spread within about 1% of the distribution's.</summary>
    const long ElementsForSpreadComparison = 4096;
    const double SpreadTolerance = 0.05;
    /// <summary>Of the spread; the sample mean of 4096 values strays by about 1.6% of it.</summary>
    const double MeanTolerance = 0.10;

    /// <remarks>
    /// TorchSharp lists every parameter before every buffer where PyTorch interleaves them module by module; within
    /// each kind the order must be torchvision's, so <c>parameters()</c> come in the same order on both sides
    /// (as optimizer state relies on).
    /// </remarks>
    [SkippableTheory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void State_dict_matches_torchvision_key_for_key(string architecture)
    {
        Prerequisite.Torch.SkipIfMissing();
        using var model = ParticleNetworks.Create(architecture, TorchvisionStateDicts.ClassCount);
        var ours = model.state_dict().Select(entry => TensorSummary.LayoutOf(entry.Key, entry.Value)).ToList();
        var theirs = torchvision.Of(architecture).Select(summary => summary.Layout).ToList();

        var missing = theirs.Except(ours).ToList();
        var unexpected = ours.Except(theirs).ToList();
        Assert.True(missing.Count == 0 && unexpected.Count == 0,
            $"{architecture}: {missing.Count} torchvision entries missing (first: {missing.FirstOrDefault()}), " +
            $"{unexpected.Count} not in torchvision (first: {unexpected.FirstOrDefault()}).");

        var parameterKeys = model.named_parameters().Select(parameter => parameter.name).ToHashSet();
        bool IsParameter(string layout) => parameterKeys.Contains(layout[..layout.IndexOf(' ')]);
        var theirsParametersFirst = theirs.Where(IsParameter).Concat(theirs.Where(layout => !IsParameter(layout))).ToList();
        int firstOutOfOrder = ours.Zip(theirsParametersFirst).TakeWhile(pair => pair.First == pair.Second).Count();
        Assert.True(firstOutOfOrder == ours.Count,
            $"{architecture}: entry #{firstOutOfOrder} is {ours.ElementAtOrDefault(firstOutOfOrder)}, " +
            $"torchvision's order (parameters first) has {theirsParametersFirst.ElementAtOrDefault(firstOutOfOrder)}.");
    }

    /// <remarks>
    /// Constant tensors (batch norms, DenseNet's classifier bias) must hold torchvision's value; random ones must
    /// come from the same distribution, judged by mean and spread where the tensor is large enough to tell
    /// (Kaiming normal, fan-in or fan-out, and the default Kaiming uniform differ by factors of 2 or more).
    /// </remarks>
    [SkippableTheory]
    [InlineData("resnet50")]
    [InlineData("densenet201")]
    [InlineData("shufflenet_v2")]
    public void Fresh_network_is_initialised_as_torchvision_initialises_it(string architecture)
    {
        Prerequisite.Torch.SkipIfMissing();
        manual_seed(TorchvisionStateDicts.Seed);
        using var model = ParticleNetworks.Create(architecture, TorchvisionStateDicts.ClassCount);
        var ours = model.state_dict().ToDictionary(entry => entry.Key, entry => TensorSummary.Of(entry.Key, entry.Value));

        var departures = new List<string>();
        int constants = 0, randoms = 0;
        foreach (var theirs in torchvision.Of(architecture))
        {
            var mine = ours[theirs.Key];
            if (theirs.StandardDeviation == 0)
            {
                constants++;
                if (mine.StandardDeviation != 0 || mine.Mean != theirs.Mean)
                    departures.Add($"{theirs.Key} is not constant {theirs.Mean} (mean {mine.Mean}, spread {mine.StandardDeviation})");
            }
            else if (theirs.ElementCount >= ElementsForSpreadComparison)
            {
                randoms++;
                double spreadRatio = mine.StandardDeviation / theirs.StandardDeviation;
                double meanOffset = Math.Abs(mine.Mean - theirs.Mean) / theirs.StandardDeviation;
                if (Math.Abs(spreadRatio - 1) > SpreadTolerance || meanOffset > MeanTolerance)
                    departures.Add($"{theirs.Key} has spread {mine.StandardDeviation:G4} and mean {mine.Mean:G4}, " +
                        $"torchvision {theirs.StandardDeviation:G4} and {theirs.Mean:G4}");
            }
        }

        output.WriteLine($"{architecture}: {constants} constant and {randoms} random tensors compared, {departures.Count} depart.");
        Assert.True(departures.Count == 0, $"{architecture}: {departures.Count} tensors initialised unlike torchvision's, first: {departures.FirstOrDefault()}.");
    }
}
