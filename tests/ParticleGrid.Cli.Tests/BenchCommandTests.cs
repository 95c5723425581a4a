using System.Text.Json;

namespace ParticleGrid.Cli.Tests;

/// <summary>`particlegrid bench --quick` runs and writes valid JSON (benchmarks are not tests: no figure is asserted).</summary>
public sealed class BenchCommandTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("pg-cli-bench-").FullName;

    [SkippableFact]
    public void Quick_bench_prints_the_table_and_writes_json()
    {
        string json = Path.Combine(folder, "bench.json");
        // The shape of a quick run, small: CI runs the real `bench --quick --json` in .ci/run.
        var result = ParticleGridProcess.Run("bench", "--quick", "--input-size", "32", "--sizes", "32", "--batches", "4", "--json", json);

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var section in new[] { "1. Raw forward passes", "2. End to end", "3. Memory", "4. The Orleans layer alone", "6. Preprocessing", "Targets:" })
            Assert.Contains(section, result.Output);
        Assert.DoesNotContain("admin token", result.Output);
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var root = report.RootElement;
        var forward = root.GetProperty("forward").EnumerateArray().ToList();
        Assert.Contains(forward, f => f.GetProperty("network").GetString() == "ensemble");
        Assert.All(forward, f => Assert.True(f.GetProperty("imagesPerSecond").GetDouble() > 0));
        Assert.Equal("onnxruntime on cpu", root.GetProperty("workerEngine").GetString());
        Assert.Contains("ours/ORT", result.Output);
        Assert.Equal(512, root.GetProperty("endToEnd").GetProperty("particles").GetInt32());
        Assert.True(root.GetProperty("endToEndOverRawEnsemble").GetDouble() > 0);
        Assert.Equal([1, 2, 4], root.GetProperty("orleansLayer").EnumerateArray().Select(l => l.GetProperty("workers").GetInt32()));
        Assert.True(root.GetProperty("preprocessing").GetProperty("preprocessingOverForward").GetDouble() > 0);
        Assert.NotEmpty(root.GetProperty("targets").EnumerateArray());

        // Last, as they need Debian's PyTorch (the bench exports torchvision's graph with it for its ONNX Runtime
        // baseline and the targets against it): without it the rest is checked and the test is skipped here.
        Prerequisite.Torch.SkipIfMissing();
        // Each engine beside ONNX Runtime on PyTorch's export of the same weights, each with its own peak memory.
        foreach (var network in new[] { "resnet50", "densenet201", "shufflenet_v2" })
        {
            var rows = forward.Where(f => f.GetProperty("network").GetString() == network && f.GetProperty("batchSize").GetInt32() == 4).ToList();
            Assert.Equal(["onnxruntime", "onnxruntime-torchvision", "torchsharp"], rows.Select(f => f.GetProperty("engine").GetString()).Order());
            Assert.All(rows, f => Assert.InRange(f.GetProperty("peakMemoryMiB").GetDouble(), 20, 4096));
        }
        Assert.Contains(root.GetProperty("targets").EnumerateArray(), t => t.GetProperty("target").GetString()!.Contains(">= 1.0 x ONNX Runtime"));
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
