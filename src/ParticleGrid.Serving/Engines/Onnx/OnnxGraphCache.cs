using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using static TorchSharp.torch;

namespace ParticleGrid.Serving.Engines.Onnx;

/// <summary>
/// A model folder's ONNX graph, written once from its weights and kept beside them in <c>onnx/</c>, or, when the model
/// folder is read-only, in this user's own data folder (<c>~/.local/share/particlegrid/onnx</c>; not the shared temp
/// folder, where another user could leave a graph under the expected name). Where neither is writable the graph
/// stays in memory. The file name carries the weights' SHA-256, the input size and
/// <see cref="OnnxNetworkGraphs.GraphFormat"/>, so new weights or a new graph writer never reuse an old file.
/// </summary>
public static class OnnxGraphCache
{
    /// <summary>A graph: a file when one could be written (ONNX Runtime reads it without a managed copy), else its bytes.</summary>
    public sealed record Graph(string? Path, byte[]? Bytes, bool FromCache);

    public static string FileName(ModelManifest manifest) =>
        $"{manifest.WeightsSha256[..16]}-{manifest.InputSize}px-{OnnxNetworkGraphs.GraphFormat.Replace('/', '-')}.onnx";

    /// <summary>The places a folder's graph is looked for and written, in order.</summary>
    public static IReadOnlyList<string> Locations(string directory, ModelManifest manifest)
    {
        string userData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return Path.IsPathRooted(userData)
            ? [Path.Combine(directory, "onnx", FileName(manifest)), Path.Combine(userData, "particlegrid", "onnx", FileName(manifest))]
            : [Path.Combine(directory, "onnx", FileName(manifest))];
    }

    /// <summary>The cached graph, or one written now from the (verified) weights and cached.</summary>
    /// <param name="rewrite">Ignore a cached file (it was found damaged) and write it again.</param>
    public static Graph Read(string directory, ModelManifest manifest, bool rewrite = false)
    {
        var locations = Locations(directory, manifest);
        if (!rewrite)
        {
            foreach (var path in locations)
                if (File.Exists(path)) return new Graph(path, Bytes: null, FromCache: true);
        }

        byte[] bytes = Export(directory);
        foreach (var path in locations)
        {
            if (TryWrite(path, bytes)) return new Graph(path, Bytes: null, FromCache: false);
        }
        return new Graph(Path: null, bytes, FromCache: false);
    }

    /// <summary>Loads the weights on the CPU (checked against the manifest) and writes their graph.</summary>
    public static byte[] Export(string directory)
    {
        using var model = ModelDirectory.Load(directory, CPU);
        var weights = NetworkWeights.Of(model.Network);
        var graph = OnnxNetworkGraphs.Write(model.Manifest.Architecture, weights, model.Manifest.InputSize, model.Manifest.Classes.Count);
        return OnnxNetworkGraphs.Serialize(graph);
    }

    /// <summary>Writes the whole file under a temporary name, then renames it: readers never see half a graph.</summary>
    static bool TryWrite(string path, byte[] bytes)
    {
        string partial = $"{path}.partial-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(partial, bytes);
            File.Move(partial, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(partial); } catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException) { }
            return false;
        }
    }
}
