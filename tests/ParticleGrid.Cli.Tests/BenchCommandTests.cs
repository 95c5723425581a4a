using System.Text.Json;

namespace ParticleGrid.Cli.Tests;

/// <summary>`particlegrid bench --quick` runs and writes valid JSON (benchmarks are not tests: no figure is asserted).</summary>
public sealed class BenchCommandTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("pg-cli-bench-").FullName;

    [Fact]
    public void Quick_bench_prints_the_table_and_writes_json()
    {
        string json = Path.Combine(folder, "bench.json");
        var result = ParticleGridProcess.Run("bench", "--quick", "--input-size", "32", "--json", json);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("decode + measure + preprocess", result.Output);
        Assert.Contains("ensemble forward", result.Output);
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var stages = report.RootElement.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(5, stages.Count);   // preprocessing, three networks, the ensemble
        Assert.All(stages, s => Assert.True(s.GetProperty("imagesPerSecond").GetDouble() > 0));
        Assert.True(report.RootElement.GetProperty("preprocessingOverForward").GetDouble() > 0);
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
