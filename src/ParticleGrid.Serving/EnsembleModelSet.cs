using ParticleGrid.ModelRepository;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Prediction;
using ParticleGrid.Serving.Engines;
using ParticleGrid.Inference.Networks;

namespace ParticleGrid.Serving;

/// <summary>What the networks of a set say about a batch: [network][image][class] probabilities and [network][image] out-of-scope ratios.</summary>
public sealed record EnsembleOutputs(IReadOnlyList<IReadOnlyList<float[]>> Probabilities, IReadOnlyList<IReadOnlyList<double?>> OutOfScopeRatios)
{
    /// <summary>One image's ratios, network by network.</summary>
    public IReadOnlyList<double?> RatiosOf(int image) => [.. OutOfScopeRatios.Select(r => r[image])];
}

/// <summary>
/// The networks of one model set, loaded once into one inference engine on one device and warmed. Not thread-safe: one
/// caller (a worker's batch loop) runs it.
/// </summary>
public sealed class EnsembleModelSet : IDisposable
{
    private readonly IReadOnlyList<(ModelSetMember Member, INetworkEngine Engine, Domain.Confidence.OutOfScopeReference? Reference)> _models;

    private EnsembleModelSet(string version, EngineSelection selection,
        IReadOnlyList<(ModelSetMember, INetworkEngine, Domain.Confidence.OutOfScopeReference?)> models)
    {
        Version = version;
        Selection = selection;
        _models = models;
    }

    public string Version { get; }

    /// <summary>The engine and device the networks run on.</summary>
    public EngineSelection Selection { get; }

    public IReadOnlyList<string> Classes => _models[0].Member.Manifest.Classes;

    public IReadOnlyList<ModelSetMember> Members => [.. _models.Select(m => m.Member)];

    /// <summary>The input sizes the networks need, so each image is preprocessed once per size.</summary>
    public IReadOnlyList<int> InputSizes => [.. _models.Select(m => m.Member.Manifest.InputSize).Distinct().Order()];

    /// <summary>Loads every network of the set into the selected engine and runs one warm-up batch through each.</summary>
    /// <param name="threads">CPU threads per operator (ONNX Runtime); 0: every core.</param>
    /// <exception cref="ModelSetException">The set is not usable; nothing stays loaded.</exception>
    public static EnsembleModelSet Load(IReadOnlyList<string> directories, EngineSelection selection, int threads = 0, int warmUpBatch = 2)
    {
        var members = ModelSets.Read(directories);
        var loaded = new List<(ModelSetMember, INetworkEngine, Domain.Confidence.OutOfScopeReference?)>();
        try
        {
            foreach (var member in members)
            {
                INetworkEngine engine;
                Domain.Confidence.OutOfScopeReference? reference;
                try
                {
                    reference = ModelFolder.LoadOutOfScopeReference(member.Directory, member.Manifest);
                    engine = InferenceEngines.Load(member.Directory, selection, threads);
                }
                catch (Exception e) when (e is ModelDirectoryException or CheckpointException or Engines.Onnx.OnnxExportException
                                              or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
                {
                    throw new ModelSetException($"{member.Directory}: {e.Message}");
                }
                loaded.Add((member, engine, reference));
                int size = member.Manifest.InputSize;
                engine.Probabilities([.. Enumerable.Range(0, warmUpBatch).Select(_ => new float[3 * size * size])]);
            }
        }
        catch
        {
            foreach (var (_, engine, _) in loaded) engine.Dispose();
            throw;
        }
        return new EnsembleModelSet(ModelSets.VersionOf(members), selection, loaded);
    }

    /// <summary>Preprocesses one decoded image for every input size of the set.</summary>
    public IReadOnlyDictionary<int, float[]> Preprocess(SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> image) =>
        InputSizes.ToDictionary(size => size, size => ParticlePreprocessor.ToPlanes(image, size));

    /// <summary>
    /// Every network's calibrated class probabilities for every image ([network][image][class], softmax of the logits
    /// over the network's temperature) and its out-of-scope ratio ([network][image]: the score over the network's
    /// threshold, 1 at the threshold; null for a network trained without a reference).
    /// </summary>
    /// <param name="timed">Told each network's name and how long its forward pass took (for metrics).</param>
    public EnsembleOutputs Run(IReadOnlyList<IReadOnlyDictionary<int, float[]>> images, Action<string, TimeSpan>? timed = null)
    {
        var probabilities = new List<IReadOnlyList<float[]>>(_models.Count);
        var ratios = new List<IReadOnlyList<double?>>(_models.Count);
        // An image's appearance depends only on its planes of one size: described once per size, whichever networks read it.
        var appearances = new Dictionary<int, float[][]>();
        float[][] AppearancesAt(int size) => appearances.TryGetValue(size, out var known) ? known
            : appearances[size] = [.. images.Select(i => Domain.Confidence.ParticleAppearance.Describe(i[size], size))];
        foreach (var (member, engine, reference) in _models)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            var outputs = engine.Run([.. images.Select(i => i[member.Manifest.InputSize])]);
            timed?.Invoke(member.Name, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            double temperature = member.Manifest.Calibration?.Temperature ?? 1;
            probabilities.Add([.. outputs.Logits.Select(l => Domain.Confidence.TemperatureScaling.Softmax(l, temperature))]);
            int size = member.Manifest.InputSize;
            ratios.Add(reference is not null && member.Manifest.OutOfScope is { } detection
                ? [.. outputs.Features.Select((f, i) => (double?)(reference.Score(f,
                    reference.Appearance is null ? [] : AppearancesAt(size)[i]) / detection.Threshold))]
                : [.. outputs.Features.Select(_ => (double?)null)]);
        }
        return new EnsembleOutputs(probabilities, ratios);
    }

    public void Dispose()
    {
        foreach (var (_, engine, _) in _models) engine.Dispose();
    }
}
