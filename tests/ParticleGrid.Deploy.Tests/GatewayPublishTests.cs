using ParticleGrid.Deploy.Tests.Support;
using Xunit.Abstractions;

namespace ParticleGrid.Deploy.Tests;

/// <summary>
/// A gateway runs no network, so what it ships must not carry the networks' natives (libtorch alone is about 1 GB): the
/// gateway host's own publish is checked file by file. The worker's natives come with the CLI (Dockerfile.cpu's publish).
/// </summary>
[Collection(Publishes.Name)]
public sealed class GatewayPublishTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_gateway_host_publishes_without_libtorch_torchsharp_or_onnx_runtime()
    {
        string dir = Directory.CreateTempSubdirectory("particlegrid-gateway-publish-").FullName;
        try
        {
            var files = await Publishes.ReleaseAsync("src/ParticleGrid.Gateway", dir, TimeSpan.FromMinutes(5));
            Assert.True(File.Exists(Path.Combine(dir, "particlegrid-gateway.dll")), $"no particlegrid-gateway.dll in {dir}");
            var carried = Publishes.NetworkFiles(files);
            Assert.True(carried.Length == 0, $"the gateway's publish carries the networks' files: {string.Join(", ", carried)}");
            long bytes = files.Sum(f => new FileInfo(f).Length);
            output.WriteLine($"gateway publish: {files.Length} files, {bytes / 1048576.0:F1} MiB");
            Assert.InRange(bytes, 1, 200L * 1048576); // libtorch_cpu.so alone is several hundred MiB
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
