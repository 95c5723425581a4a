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
/// <remarks>
/// A name is not proof, though: before a cached graph is used, the weights file is checked against the manifest's
/// SHA-256 (changed weights are refused, as loading them would be), and the graph against the SHA-256 written beside
/// it (<c>.onnx.sha256</c>) when it was made; a graph without one, or that no longer matches it, is written again
/// from the weights. So a graph that was damaged, or replaced by someone who could write the cache folder, is not run.
/// The graph is read once into memory, and those bytes are both hashed and given to ONNX Runtime: opening the file by
/// path after checking it would leave a window in which the file could be swapped (a transient copy of the graph, about
/// the size of the weights, while the session is made, is the price).
/// </remarks>
public static class OnnxGraphCache
{
    /// <summary>A graph's bytes (the ones checked), where it is cached (null: nowhere could be written), and whether it came from there.</summary>
    public sealed record Graph(string? Path, byte[] Bytes, bool FromCache);

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

    /// <summary>The file beside a cached graph that holds the graph's own SHA-256 (hex), written with it.</summary>
    public static string HashFile(string graphPath) => graphPath + ".sha256";

    /// <summary>The cached graph, or one written now from the (verified) weights and cached.</summary>
    /// <param name="rewrite">Ignore a cached file (it was found damaged) and write it again.</param>
    /// <exception cref="ModelDirectoryException">The weights file is missing or does not match the manifest's SHA-256.</exception>
    public static Graph Read(string directory, ModelManifest manifest, bool rewrite = false)
    {
        VerifyWeights(directory, manifest);
        var locations = Locations(directory, manifest);
        if (!rewrite)
        {
            foreach (var path in locations)
                if (File.Exists(path) && ReadIfItMatchesItsHash(path) is { } cached) return new Graph(path, cached, FromCache: true);
        }

        byte[] bytes = Export(directory);
        foreach (var path in locations)
        {
            if (TryWrite(path, bytes)) return new Graph(path, bytes, FromCache: false);
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

    /// <summary>The weights file against the manifest's SHA-256: a graph made from other weights must not be served under this model.</summary>
    static void VerifyWeights(string directory, ModelManifest manifest)
    {
        string weights = Path.Combine(directory, manifest.WeightsFile);
        if (!File.Exists(weights)) throw new ModelDirectoryException($"{weights}: weights file missing");
        string actual = ModelFolder.Sha256Of(weights);
        if (!string.Equals(actual, manifest.WeightsSha256, StringComparison.OrdinalIgnoreCase))
            throw new ModelDirectoryException($"{weights}: SHA-256 {actual[..12]}… does not match the manifest's {manifest.WeightsSha256[..12]}…; the weights were changed or damaged");
    }

    /// <summary>The graph's bytes when their SHA-256 is the one written beside it; null when that file is missing, unreadable or differs.</summary>
    static byte[]? ReadIfItMatchesItsHash(string path)
    {
        try
        {
            string expected = File.ReadAllText(HashFile(path)).Trim();
            byte[] bytes = File.ReadAllBytes(path);
            return string.Equals(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), expected, StringComparison.OrdinalIgnoreCase)
                ? bytes : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes the graph and then its hash, each under a temporary name and then renamed: readers never see half a
    /// graph, and a graph whose hash is not yet (or no longer) beside it is rewritten rather than trusted.
    /// </summary>
    static bool TryWrite(string path, byte[] bytes) =>
        TryWriteFile(path, bytes) && TryWriteFile(HashFile(path), System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))));

    static bool TryWriteFile(string path, byte[] bytes)
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
