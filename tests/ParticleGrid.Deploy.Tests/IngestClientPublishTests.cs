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
    /// Well above what the client needs (about 18 MiB when this was written) and far below one native it must not
    /// carry (libtorch_cpu.so alone is several hundred MiB): a size past this means something heavy came in.
    /// </summary>
    private const long MaxBytes = 60L * 1048576;

    [Fact]
    public async Task The_ingest_client_publishes_without_torch_or_onnx_runtime()
    {
        string dir = Directory.CreateTempSubdirectory("particlegrid-ingest-publish-").FullName;
        try
        {
            var files = await Publishes.ReleaseAsync("src/ParticleGrid.IngestClient", dir, TimeSpan.FromMinutes(6));
            Assert.True(File.Exists(Path.Combine(dir, "particlegrid-ingest.dll")), $"no particlegrid-ingest.dll in {dir}");
            string[] natives = Publishes.NetworkFiles(files);
            Assert.True(natives.Length == 0, $"the instrument client carries the networks' runtime: {string.Join(", ", natives)}");
            // Nor the assemblies that would load them: the client holds no network.
            foreach (string project in new[] { "ParticleGrid.Serving", "ParticleGrid.Inference", "ParticleGrid.Training", "ParticleGrid.Host", "ParticleGrid.Grains" })
                Assert.False(File.Exists(Path.Combine(dir, project + ".dll")), $"{project}.dll is in the instrument client's publish output");

            // It runs as published: a user error is one line and exit code 1, as with particlegrid ingest.
            var missing = await Command.RunAsync("dotnet", [Path.Combine(dir, "particlegrid-ingest.dll"), "ingest", Path.Combine(dir, "no-such-run"),
                "--lot", "LOT-A", "--instrument", "FC-1"], Repository.Root, timeout: TimeSpan.FromMinutes(1));
            Assert.True(missing.ExitCode == 1 && missing.Error.StartsWith("error: ") && missing.Error.Contains("no-such-run"), missing.Describe("particlegrid-ingest ingest"));

            long bytes = files.Sum(f => new FileInfo(f).Length);
            string size = $"particlegrid-ingest publish (framework-dependent, Release): {files.Length} files, {bytes / 1048576.0:F1} MiB";
            output.WriteLine(size);
            Directory.CreateDirectory(Repository.PathOf("artifacts"));
            await File.WriteAllTextAsync(Repository.PathOf("artifacts", "publish-size-particlegrid-ingest.txt"), size + Environment.NewLine);
            Assert.True(bytes < MaxBytes, $"{size}: more than {MaxBytes / 1048576} MiB");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
