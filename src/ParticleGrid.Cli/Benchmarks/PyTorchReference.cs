using System.Text.Json;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>One network at one size and batch in Debian's PyTorch, eager and with its tricks.</summary>
public sealed record PyTorchResult(string Network, int Size, int Batch, double EagerIps, double ChannelsLastIps, double FoldedIps, double BestIps, double PeakRssMib);

/// <summary>Runs bench/pytorch_forward.py (Debian's PyTorch 1.13, the same thread count) for the same forward passes.</summary>
public static class PyTorchReference
{
    public const string Python = "/usr/bin/python3";

    public static IReadOnlyList<PyTorchResult>? Run(string script, int threads, IReadOnlyList<int> sizes, IReadOnlyList<int> batches, int images, string workFolder,
        Action<string>? progress)
    {
        if (!File.Exists(Python) || !File.Exists(script))
        {
            progress?.Invoke($"PyTorch reference skipped: {(File.Exists(script) ? Python : script)} not found");
            return null;
        }
        string json = Path.Combine(workFolder, "pytorch.json");
        var run = BenchProcess.Run(Python, [script, "--threads", threads.ToString(), "--sizes", string.Join(',', sizes),
            "--batches", string.Join(',', batches), "--images", images.ToString(), "--json", json]);
        if (!run.Succeeded || !File.Exists(json))
        {
            progress?.Invoke($"PyTorch reference failed {run.Failure}");
            return null;
        }
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        return [.. document.RootElement.GetProperty("results").EnumerateArray().Select(r => new PyTorchResult(
            r.GetProperty("network").GetString()!, r.GetProperty("size").GetInt32(), r.GetProperty("batch").GetInt32(),
            r.GetProperty("eager_ips").GetDouble(), Number(r, "channels_last_ips"), Number(r, "folded_ips"), r.GetProperty("best_ips").GetDouble(),
            Number(r, "peak_rss_mib")))];
    }

    private static double Number(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : double.NaN;
}
