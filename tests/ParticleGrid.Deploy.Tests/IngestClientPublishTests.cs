using ParticleGrid.Deploy.Tests.Support;
using Xunit.Abstractions;

namespace ParticleGrid.Deploy.Tests;

/// <summary>
/// The instrument client (particlegrid-ingest) publishes without the networks' natives: an instrument PC gets the
/// readers and an Orleans client, not TorchSharp, libtorch or ONNX Runtime (issue 15). Published for real, as the
/// README tells an instrument PC to, framework-dependent.
/// </summary>
[Collection(Publishes.Name)]
public sealed class IngestClientPublishTests(ITestOutputHelper output)
{
    /// <summary>
    /// Well above what the client needs (about 19 MB when this was written) and far below one native it must not
    /// carry (libtorch_cpu.so alone is several hundred MB): a size past this means something heavy came in.
    /// </summary>
    private const long MaxBytes = 60L * 1024 * 1024;

    [Fact]
    public async Task The_ingest_client_publishes_without_torch_or_onnx_runtime()
    {
        string dir = Directory.CreateTempSubdirectory("particlegrid-ingest-publish-").FullName;
        try
        {
            string[] arguments = ["publish", "src/ParticleGrid.IngestClient", "-c", "Release", "-o", dir];
            var result = await Command.RunAsync("dotnet", arguments, Repository.Root, Publishes.Environment, TimeSpan.FromMinutes(6));
            Assert.True(result.ExitCode == 0, result.Describe("dotnet " + string.Join(' ', arguments)));
            Assert.True(File.Exists(Path.Combine(dir, "particlegrid-ingest.dll")), $"no particlegrid-ingest.dll in {dir}");

            var files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories);
            string[] natives = [.. files.Select(Path.GetFileName).OfType<string>().Where(name =>
                name.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase) || name.StartsWith("libLibTorchSharp", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("onnxruntime", StringComparison.OrdinalIgnoreCase) || name.StartsWith("libonnxruntime", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.OrdinalIgnoreCase))];
            Assert.True(natives.Length == 0, $"the instrument client carries the networks' runtime: {string.Join(", ", natives)}");
            // Nor the assemblies that would load them: the client holds no network.
            foreach (string project in new[] { "ParticleGrid.Serving", "ParticleGrid.Inference", "ParticleGrid.Training", "ParticleGrid.Host", "ParticleGrid.Grains" })
                Assert.False(File.Exists(Path.Combine(dir, project + ".dll")), $"{project}.dll is in the instrument client's publish output");

            // It runs as published: a user error is one line and exit code 1, as with particlegrid ingest.
            var missing = await Command.RunAsync("dotnet", [Path.Combine(dir, "particlegrid-ingest.dll"), "ingest", Path.Combine(dir, "no-such-run"),
                "--lot", "LOT-A", "--instrument", "FC-1"], Repository.Root, timeout: TimeSpan.FromMinutes(1));
            Assert.True(missing.ExitCode == 1 && missing.Error.StartsWith("error: ") && missing.Error.Contains("no-such-run"), missing.Describe("particlegrid-ingest ingest"));

            long bytes = files.Sum(f => new FileInfo(f).Length);
            string size = $"particlegrid-ingest publish (framework-dependent, Release): {bytes / 1e6:0.0} MB in {files.Length} files";
            output.WriteLine(size);
            Directory.CreateDirectory(Repository.PathOf("artifacts"));
            await File.WriteAllTextAsync(Repository.PathOf("artifacts", "publish-size-particlegrid-ingest.txt"), size + Environment.NewLine);
            Assert.True(bytes < MaxBytes, $"{size}: more than {MaxBytes / 1e6:0} MB");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

/// <summary>
/// The tests that run dotnet publish: one at a time, since publishes of projects that share references (the CLI and the
/// instrument client both build Domain, Imaging, Ingest in Release) would write the same obj/ folders at once.
/// </summary>
[CollectionDefinition(Name)]
public sealed class Publishes
{
    public const string Name = "dotnet publish";

    /// <summary>No build servers left holding the test's output pipes.</summary>
    public static readonly IReadOnlyDictionary<string, string> Environment = new Dictionary<string, string>
    {
        ["MSBUILDDISABLENODEREUSE"] = "1",
        ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        ["UseSharedCompilation"] = "false",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
    };
}
