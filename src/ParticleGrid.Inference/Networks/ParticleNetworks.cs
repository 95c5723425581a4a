using System.Collections;
using TorchSharp.PyBridge;

namespace ParticleGrid.Inference.Networks;

/// <summary>
/// The classification networks ParticleGrid offers, by torchvision's names, and their PyTorch checkpoints.
/// Each network has exactly torchvision's module tree, so a <c>.pth</c> state_dict saved by PyTorch loads here
/// and one saved here loads in PyTorch with <c>load_state_dict(strict=True)</c>.
/// </summary>
public static class ParticleNetworks
{
    // The names (and the stage widths) are the model repository's: a manifest names its architecture there, without Torch.
    const string ResNet50Name = ModelRepository.ModelArchitectures.ResNet50;
    const string DenseNet201Name = ModelRepository.ModelArchitectures.DenseNet201;
    const string ShuffleNetV2Name = ModelRepository.ModelArchitectures.ShuffleNetV2;

    /// <summary>The architecture names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Architectures => ModelRepository.ModelArchitectures.Names;

    /// <summary>
    /// A freshly initialised network (torchvision's initialisation) with <paramref name="classCount"/> outputs, on the CPU;
    /// move it with <c>model.to(device)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The architecture is not one of <see cref="Architectures"/>.</exception>
    public static Module<Tensor, Tensor> Create(string architecture, int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        return RequireKnown(architecture) switch
        {
            ResNet50Name => new ResNet50(classCount),
            DenseNet201Name => DenseNet.DenseNet201(classCount),
            _ => ShuffleNetV2.X1_0(classCount),
        };
    }

    /// <summary>The last <paramref name="width"/> columns of stage features [N, D]: the pooled features the classifier reads.</summary>
    public static Tensor LastStage(Tensor stageFeatures, long width) => stageFeatures.narrow(1, stageFeatures.shape[1] - width, width);

    /// <summary>
    /// The state_dict prefix of the architecture's final linear layer (the class head):
    /// <c>fc</c> for resnet50 and shufflenet_v2, <c>classifier</c> for densenet201.
    /// </summary>
    public static string ClassifierPrefix(string architecture) =>
        RequireKnown(architecture) == DenseNet201Name ? "classifier" : "fc";

    /// <summary>
    /// Loads every parameter and buffer of <paramref name="model"/> from a PyTorch state_dict file: the keys must be
    /// exactly the model's and every shape must match, class head included.
    /// </summary>
    /// <exception cref="CheckpointException">The file is missing or unreadable, or does not fit the model.</exception>
    public static void LoadCheckpoint(Module<Tensor, Tensor> model, string architecture, string pthPath)
    {
        RequireArchitecture(model, architecture);
        using var scope = NewDisposeScope();
        var checkpoint = ReadStateDict(pthPath);
        var modelState = model.state_dict();

        RequireSameKeys(pthPath, architecture, checkpoint, modelState, isSkipped: _ => false);
        RequireSameShapes(pthPath, architecture, checkpoint, modelState, isSkipped: _ => false);

        model.load_state_dict(checkpoint, strict: true);
    }

    /// <summary>
    /// Loads everything but the class head from a checkpoint whose head differs, typically torchvision's ImageNet
    /// (1000-class) weights: every non-head key of the model must be in the file with the same shape; the file's head
    /// is ignored and the model keeps its own, freshly initialised one.
    /// </summary>
    /// <exception cref="CheckpointException">The file is missing or unreadable, or its backbone does not fit the model.</exception>
    public static void LoadBackbone(Module<Tensor, Tensor> model, string architecture, string pthPath)
    {
        RequireArchitecture(model, architecture);
        string headPrefix = ClassifierPrefix(architecture) + ".";
        bool IsHead(string key) => key.StartsWith(headPrefix, StringComparison.Ordinal);

        using var scope = NewDisposeScope();
        var checkpoint = ReadStateDict(pthPath);
        var modelState = model.state_dict();

        RequireSameKeys(pthPath, architecture, checkpoint, modelState, IsHead);
        RequireSameShapes(pthPath, architecture, checkpoint, modelState, IsHead);

        var backbone = checkpoint.Where(entry => !IsHead(entry.Key)).ToDictionary();
        model.load_state_dict(backbone, strict: false);
    }

    /// <summary>
    /// Writes the model's state_dict as a PyTorch <c>.pth</c> file that <c>torch.load</c> reads and
    /// <c>load_state_dict(strict=True)</c> accepts. The file appears whole or not at all.
    /// </summary>
    public static void SaveCheckpoint(Module<Tensor, Tensor> model, string pthPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        // Detached CPU tensors, as PyTorch's own state_dict() holds them, wherever the model lives.
        var cpuState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in model.state_dict())
            cpuState[key] = tensor.detach().cpu();

        string partialPath = pthPath + ".partial";
        try
        {
            using (var stream = File.Create(partialPath))
                PyTorchPickler.PickleStateDict(stream, cpuState, leaveOpen: true);
            File.Move(partialPath, pthPath, overwrite: true);
        }
        catch
        {
            File.Delete(partialPath);
            throw;
        }
    }

    static string RequireKnown(string architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        return Architectures.Contains(architecture, StringComparer.Ordinal)
            ? architecture
            : throw new ArgumentException(
                $"Unknown architecture '{architecture}'; valid ones are {string.Join(", ", Architectures)}.", nameof(architecture));
    }

    static void RequireArchitecture(Module<Tensor, Tensor> model, string architecture)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool fits = RequireKnown(architecture) switch
        {
            ResNet50Name => model is ResNet50,
            DenseNet201Name => model is DenseNet,
            _ => model is ShuffleNetV2,
        };
        if (!fits)
            throw new ArgumentException($"The model is a {model.GetType().Name}, not a {architecture}.", nameof(model));
    }

    /// <summary>The file's tensors by key. They belong to the caller's dispose scope.</summary>
    internal static Dictionary<string, Tensor> ReadStateDict(string pthPath)
    {
        ArgumentNullException.ThrowIfNull(pthPath);
        if (!File.Exists(pthPath))
            throw new CheckpointException(pthPath, "does not exist");

        Hashtable pickled;
        try
        {
            using var stream = File.OpenRead(pthPath);
            pickled = PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (Exception e)
        {
            // PyBridge reports a foreign file with whatever its zip reader or unpickler throws.
            throw new CheckpointException(pthPath, $"is not a readable PyTorch state_dict (.pth): {e.GetType().Name}: {e.Message}", e);
        }

        var stateDict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in pickled)
        {
            if (entry.Key is not string key || entry.Value is not Tensor tensor)
                throw new CheckpointException(pthPath,
                    $"is not a plain state_dict: entry '{entry.Key}' holds {entry.Value?.GetType().Name ?? "None"}, not a tensor");
            stateDict[key] = tensor;
        }
        return stateDict;
    }

    static void RequireSameKeys(string pthPath, string architecture, Dictionary<string, Tensor> checkpoint,
        Dictionary<string, Tensor> modelState, Func<string, bool> isSkipped)
    {
        var missing = modelState.Keys.Where(key => !isSkipped(key) && !checkpoint.ContainsKey(key)).ToList();
        var unexpected = checkpoint.Keys.Where(key => !isSkipped(key) && !modelState.ContainsKey(key))
            .Order(StringComparer.Ordinal).ToList();
        if (missing.Count == 0 && unexpected.Count == 0) return;

        var differences = new List<string>();
        if (missing.Count > 0) differences.Add($"{missing.Count} keys missing, first: {missing[0]}");
        if (unexpected.Count > 0) differences.Add($"{unexpected.Count} unexpected, first: {unexpected[0]}");
        throw new CheckpointException(pthPath, $"is not a {architecture} checkpoint: {string.Join("; ", differences)}");
    }

    static void RequireSameShapes(string pthPath, string architecture, Dictionary<string, Tensor> checkpoint,
        Dictionary<string, Tensor> modelState, Func<string, bool> isSkipped)
    {
        var mismatched = modelState.Keys
            .Where(key => !isSkipped(key) && !checkpoint[key].shape.SequenceEqual(modelState[key].shape))
            .ToList();
        if (mismatched.Count == 0) return;

        string headWeight = ClassifierPrefix(architecture) + ".weight";
        string headPrefix = ClassifierPrefix(architecture) + ".";
        if (mismatched.All(key => key.StartsWith(headPrefix, StringComparison.Ordinal)))
        {
            long[] fileHead = checkpoint[headWeight].shape, modelHead = modelState[headWeight].shape;
            throw new CheckpointException(pthPath,
                $"has a {fileHead[0]}-class head but the {architecture} model has {modelHead[0]} classes " +
                $"({headWeight} is {Shape(fileHead)} in the checkpoint, {Shape(modelHead)} in the model); " +
                "LoadBackbone keeps the model's own head");
        }

        string first = mismatched.First(key => !key.StartsWith(headPrefix, StringComparison.Ordinal));
        throw new CheckpointException(pthPath,
            $"does not fit the {architecture} model: {mismatched.Count} tensors differ in shape, first: " +
            $"{first} is {Shape(checkpoint[first].shape)} in the checkpoint but {Shape(modelState[first].shape)} in the model");
    }

    static string Shape(long[] shape) => $"[{string.Join(", ", shape)}]";
}
