using ParticleGrid.Deploy.Tests.Support;
using Xunit.Abstractions;

namespace ParticleGrid.Deploy.Tests;

/// <summary>The CPU and GPU images: bases, ports, entry point, and the CPU publish step run for real.</summary>
[Collection(Publishes.Name)]
public sealed class DockerfileTests(ITestOutputHelper log)
{
    private static readonly Dockerfile Cpu = new(Repository.PathOf("docker", "Dockerfile.cpu"));
    private static readonly Dockerfile Gpu = new(Repository.PathOf("docker", "Dockerfile.gpu"));

    [Fact]
    public void The_cpu_image_publishes_on_the_sdk_and_runs_on_aspnet()
    {
        var images = Cpu.BaseImages();
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", images[0]);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", images[^1]);
        Assert.Equal(["dotnet", "publish", "src/ParticleGrid.Cli", "-c", "Release", "-o", "/app"], Cpu.PublishCommand());
        Assert.Contains(Cpu.All("COPY"), c => c.Arguments == "--from=build /app ./");
    }

    [Fact]
    public void The_gpu_image_publishes_with_the_cuda_switch_and_runs_on_a_cuda_base()
    {
        var images = Gpu.BaseImages();
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", images[0]);
        // CUDA 13 with cuDNN: what ONNX Runtime 1.31's CUDA provider links (libcudart.so.13, libcublas.so.13) and loads.
        Assert.Matches(@"^nvidia/cuda:13\.\d+(\.\d+)?-cudnn\d*-runtime-ubuntu\d+\.\d+$", images[^1]);
        // The same publish as the CPU image's, plus the CUDA switches of libtorch and ONNX Runtime.
        Assert.Equal([.. Cpu.PublishCommand().SkipLast(2), "-p:TorchDevice=cuda", "-p:InferenceDevice=cuda", "-o", "/app"], Gpu.PublishCommand());
        // The .NET runtime comes from Microsoft's image; the user is the one the chart runs as.
        Assert.Contains(Gpu.All("COPY"), c => c.Arguments.StartsWith("--from=dotnet /usr/share/dotnet"));
        Assert.Equal(Chart.Values().Require("podSecurityContext.runAsUser"), Gpu.Last("USER").Arguments);
    }

    [Fact]
    public void The_cuda_switch_selects_libtorch_for_the_base_images_cuda()
    {
        // -p:TorchDevice=cuda must swap the CPU natives for CUDA ones. libtorch carries its own CUDA runtime; the base's
        // CUDA must not be older (the host's driver then runs both).
        var project = System.Xml.Linq.XDocument.Load(Repository.PathOf("src", "ParticleGrid.Inference", "ParticleGrid.Inference.csproj"));
        var cuda = project.Descendants("ItemGroup").Where(g => ((string?)g.Attribute("Condition"))?.Replace(" ", "") == "'$(TorchDevice)'=='cuda'")
            .SelectMany(g => g.Elements("PackageReference")).Select(r => (string?)r.Attribute("Include")).ToList();
        string package = Assert.Single(cuda, p => p?.StartsWith("libtorch-cuda-") == true)!;
        string cudaVersion = System.Text.RegularExpressions.Regex.Match(package, @"^libtorch-cuda-(\d+\.\d+)-linux-x64$").Groups[1].Value;
        string baseCuda = System.Text.RegularExpressions.Regex.Match(Gpu.BaseImages()[^1], @"^nvidia/cuda:(\d+\.\d+)").Groups[1].Value;
        Assert.True(Version.Parse(baseCuda) >= Version.Parse(cudaVersion), $"base CUDA {baseCuda} is older than libtorch's {cudaVersion}");
        Assert.Contains($"Include=\"{package}\"", File.ReadAllText(Repository.PathOf("Directory.Packages.props")));
        Assert.Contains(project.Descendants("PackageReference"), r => (string?)r.Attribute("Include") == "libtorch-cpu-linux-x64"
            && ((string?)r.Parent!.Attribute("Condition") ?? "").Contains("TorchDevice"));
    }

    [Fact]
    public void The_inference_switch_selects_onnx_runtime_with_its_cuda_execution_provider()
    {
        // -p:InferenceDevice=cuda must swap ONNX Runtime's CPU package for the one carrying the CUDA and TensorRT providers.
        var project = System.Xml.Linq.XDocument.Load(Repository.PathOf("src", "ParticleGrid.Serving", "ParticleGrid.Serving.csproj"));
        string[] Packages(string device) => [.. project.Descendants("ItemGroup")
            .Where(g => ((string?)g.Attribute("Condition"))?.Replace(" ", "") == $"'$(InferenceDevice)'=='{device}'")
            .SelectMany(g => g.Elements("PackageReference")).Select(r => (string)r.Attribute("Include")!)];
        Assert.Equal(["Microsoft.ML.OnnxRuntime"], Packages("cpu"));
        Assert.Equal(["Microsoft.ML.OnnxRuntime.Gpu.Linux"], Packages("cuda"));
        string props = File.ReadAllText(Repository.PathOf("Directory.Packages.props"));
        Assert.Contains("Include=\"Microsoft.ML.OnnxRuntime.Gpu.Linux\"", props);
        Assert.Contains("PARTICLEGRID__WORKER__ENGINE=auto", File.ReadAllText(Gpu.Path));
    }

    [Fact]
    public void Both_images_expose_the_charts_ports_and_serve_as_the_chart_runs_them()
    {
        var values = Chart.Values();
        string[] ports = [values.Require("http.port"), values.Require("orleans.siloPort"), values.Require("orleans.gatewayPort")];
        foreach (var dockerfile in new[] { Cpu, Gpu })
        {
            Assert.Equal(ports, dockerfile.Last("EXPOSE").Arguments.Split(' '));
            Assert.Equal(["/app/particlegrid", "serve"], dockerfile.Last("ENTRYPOINT").ExecForm);
            Assert.Equal(["--urls", $"http://0.0.0.0:{ports[0]}", "--data-dir", "/var/lib/particlegrid"], dockerfile.Last("CMD").ExecForm);
            // Local bin/ and obj/ stay out of the build context (they hold this machine's restore).
            string ignore = File.ReadAllText(dockerfile.Path + ".dockerignore");
            Assert.Contains("**/bin/", ignore);
            Assert.Contains("**/obj/", ignore);
        }
    }

    [Fact]
    public async Task The_cpu_dockerfile_publish_step_succeeds_here()
    {
        // The Dockerfile's own command, with the output redirected: they cannot drift apart.
        var command = Cpu.PublishCommand().ToList();
        int output = command.IndexOf("-o");
        Assert.True(output > 0, "the publish has no -o");
        string dir = Directory.CreateTempSubdirectory("particlegrid-publish-").FullName;
        try
        {
            command[output + 1] = dir;
            var result = await Command.RunAsync(command[0], command.Skip(1), Repository.Root, Publishes.Environment, TimeSpan.FromMinutes(8));
            Assert.True(result.ExitCode == 0, result.Describe(string.Join(' ', command)));
            Assert.True(File.Exists(Path.Combine(dir, "particlegrid.dll")), $"no particlegrid.dll in {dir}");
            Assert.True(File.Exists(Path.Combine(dir, "particlegrid")), "no particlegrid app host (the image's ENTRYPOINT)");
            Assert.NotEmpty(Directory.GetFiles(dir, "libtorch_cpu.so", SearchOption.AllDirectories));
            // Beside the instrument client's (IngestClientPublishTests): what the networks' natives weigh.
            var files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories);
            log.WriteLine($"particlegrid (the CPU image's publish): {files.Length} files, {files.Sum(f => new FileInfo(f).Length) / 1048576.0:F1} MiB");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
