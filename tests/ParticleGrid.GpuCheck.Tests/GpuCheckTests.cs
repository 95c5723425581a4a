using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace ParticleGrid.GpuCheck.Tests;

/// <summary>
/// bench/gpu as CI can run it. The GPU machine is lent rarely and for minutes, so everything that does not need a GPU
/// is proven here: the pack fits the carry budget, the trimmed self-contained program starts, binds TorchSharp to a
/// libtorch it did not ship with (the NuGet libtorch 2.10 stands in for the machine's torch), loads the weights the
/// driver drew with torchvision, and matches torchvision within 1e-4 on both routes, and the driver's JSON has every
/// part the device run will fill.
/// </summary>
public sealed class GpuCheckTests(ITestOutputHelper output)
{
    static readonly string Root = Prerequisite.RepositoryRoot;
    static readonly string Python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    [Fact]
    public void The_binding_check_finds_nothing_missing_in_the_libtorch_TorchSharp_was_built_for_and_counts_what_a_partial_one_lacks()
    {
        string binding = Path.Combine(NuGetPackage("torchsharp", "TorchSharp"), "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        string libtorch = NuGetLibtorch();
        using var scratch = new Scratch();

        // Counting only (--no-dlopen): NuGet's copy is unpatched, and this host's libstdc++ may lack GLIBCXX_3.4.32.
        var (code, text) = Run(Python, [Path.Combine(Root, "bench/gpu/elf_symbols.py"), "--binding", binding, "--lib-dir", libtorch,
            "--no-dlopen", "--json", scratch.File("full.json")], TimeSpan.FromMinutes(2));
        output.WriteLine(text);
        using var full = JsonDocument.Parse(File.ReadAllText(scratch.File("full.json")));
        Assert.Equal(0, code);
        Assert.Equal(0, full.RootElement.GetProperty("missing_symbols").GetInt32());
        Assert.True(full.RootElement.GetProperty("imported_symbols").GetInt32() > 1000, "libLibTorchSharp.so imports over a thousand symbols");
        Assert.True(full.RootElement.GetProperty("binds").GetBoolean());

        // libc10 alone: every at:: and torch:: symbol is missing, and the check says it does not bind.
        string partial = Directory.CreateDirectory(scratch.File("partial")).FullName;
        File.Copy(Path.Combine(libtorch, "libc10.so"), Path.Combine(partial, "libc10.so"));
        (code, text) = Run(Python, [Path.Combine(Root, "bench/gpu/elf_symbols.py"), "--binding", binding, "--lib-dir", partial,
            "--json", scratch.File("partial.json")], TimeSpan.FromMinutes(2));
        output.WriteLine(text);
        using var lacking = JsonDocument.Parse(File.ReadAllText(scratch.File("partial.json")));
        Assert.Equal(1, code);
        Assert.False(lacking.RootElement.GetProperty("binds").GetBoolean());
        Assert.True(lacking.RootElement.GetProperty("missing_symbols").GetInt32() > 500, text);
        Assert.False(lacking.RootElement.GetProperty("dlopen").GetProperty("ok").GetBoolean());
        Assert.Contains(lacking.RootElement.GetProperty("missing_first").EnumerateArray(), s => s.GetString()!.StartsWith("at::", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void The_packed_check_fits_the_carry_budget_and_its_cpu_path_matches_torchvision_on_both_routes()
    {
        Prerequisite.Torch.SkipIfMissing();
        using var scratch = new Scratch();
        string pack = scratch.File("pack");
        var clock = Stopwatch.StartNew();

        // The real pack: a trimmed, self-contained publish compressed into one archive, with the script's own budget check.
        var (code, text) = Run("bash", [Path.Combine(Root, "bench/gpu/pack.sh")], TimeSpan.FromMinutes(8), ("PACK_DIR", pack));
        output.WriteLine(text);
        Assert.True(code == 0, $"pack.sh failed ({code}):\n{text}");
        var archive = new FileInfo(Path.Combine(pack, "particlegrid-gpu-check.tar.xz"));
        Assert.True(archive.Exists, "pack.sh wrote no archive");
        Assert.True(archive.Length < 56L << 20, $"the archive is {archive.Length / 1048576.0:F1} MiB; the budget is 56 (64 MiB with the tracked tree)");
        Assert.Single(Directory.GetFileSystemEntries(pack));   // the carried folder holds the archive and nothing else
        output.WriteLine($"pack: {clock.Elapsed.TotalSeconds:F0} s, {archive.Length / 1048576.0:F1} MiB");

        // The device's command, on the CPU at a tiny size, with the NuGet libtorch in place of the machine's torch.
        clock.Restart();
        string outDir = scratch.File("out");
        (code, text) = Run(Python, [Path.Combine(Root, "bench/gpu/gpu_check.py"), "--pack", pack, "--device", "cpu",
            "--torch-lib", NuGetLibtorch(), "--sizes", "64", "--batches", "1,2", "--onnx-batches", "2", "--seconds", "0.02",
            "--out", outDir, "--work", scratch.File("work"), "--budget-s", "300"], TimeSpan.FromMinutes(6));
        output.WriteLine(text);
        output.WriteLine($"check: {clock.Elapsed.TotalSeconds:F0} s");
        Assert.True(code == 0, $"gpu_check.py failed ({code}):\n{text}");
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "gpu-check.json")));
        var r = report.RootElement;

        foreach (var step in r.GetProperty("steps").EnumerateObject())
            Assert.True(step.Value.GetProperty("ok").GetBoolean(), $"step {step.Name}: {step.Value}");
        Assert.True(r.GetProperty("binding").GetProperty("binds").GetBoolean(), r.GetProperty("binding").ToString());

        var torchsharp = r.GetProperty("routes").GetProperty("torchsharp");
        Assert.Equal("exit code 0", torchsharp.GetProperty("exit").GetString());
        Assert.True(torchsharp.GetProperty("binding").GetProperty("bound").GetBoolean());
        Assert.Equal("exit code 0", r.GetProperty("routes").GetProperty("onnx").GetProperty("exit").GetString());

        // Both routes, three networks and the ensemble, each held to torchvision within 1e-4 with the same argmax.
        var parity = r.GetProperty("parity").EnumerateArray().ToList();
        Assert.Equal(8, parity.Count);
        foreach (var route in new[] { "torchsharp", "onnx" })
            foreach (var network in new[] { "resnet50", "densenet201", "shufflenet_v2", "ensemble" })
            {
                var check = Assert.Single(parity, c => c.GetProperty("route").GetString() == route && c.GetProperty("network").GetString() == network);
                Assert.True(check.GetProperty("pass").GetBoolean(), check.ToString());
                Assert.InRange(check.GetProperty("max_abs_difference").GetDouble(), 0, 1e-4);
                // Neither flat nor saturated, or the comparison would prove little.
                Assert.InRange(check.GetProperty("max_probability").GetDouble(), 0.3, 0.99);
            }

        // Every timing series the device run fills has at least its CPU figures here.
        var timings = torchsharp.GetProperty("timings").EnumerateArray().ToList();
        foreach (var network in new[] { "resnet50", "densenet201", "shufflenet_v2" })
            foreach (var what in new[] { "engine", "module" })
                Assert.Contains(timings, t => t.GetProperty("network").GetString() == network && t.GetProperty("what").GetString() == what
                                              && t.TryGetProperty("images_per_s", out var v) && v.GetDouble() > 0);
        Assert.Contains(timings, t => t.GetProperty("network").GetString() == "ensemble" && t.TryGetProperty("images_per_s", out _));
        Assert.Contains(r.GetProperty("routes").GetProperty("onnx").GetProperty("timings").EnumerateArray(), t => t.TryGetProperty("images_per_s", out _));
        Assert.Equal(6, r.GetProperty("pytorch").EnumerateArray().Count(t => t.TryGetProperty("images_per_s", out _)));
        Assert.StartsWith("TorchSharp route bound on cpu and matches torchvision", r.GetProperty("verdict").GetString());
        Assert.Contains("verdict:", File.ReadAllText(Path.Combine(outDir, "gpu-check.log")));
    }

    /// <summary>A NuGet package's folder at the version Directory.Packages.props names.</summary>
    static string NuGetPackage(string folder, string id)
    {
        string root = typeof(GpuCheckTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NuGetPackageRoot").Value!;
        string version = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(p => (string?)p.Attribute("Include") == id).Attribute("Version")!.Value;
        string path = Path.Combine(root, folder, version);
        Assert.True(Directory.Exists(path), $"{path} is missing: restore the solution (dotnet restore ParticleGrid.sln)");
        return path;
    }

    static string NuGetLibtorch() => Path.Combine(NuGetPackage("libtorch-cpu-linux-x64", "libtorch-cpu-linux-x64"), "runtimes", "linux-x64", "native");

    static (int Code, string Text) Run(string file, string[] arguments, TimeSpan timeout, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} did not finish within {timeout}:\n{stdout.Result}\n{stderr.Result}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    sealed class Scratch : IDisposable
    {
        public string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "particlegrid-gpu-check-" + Guid.NewGuid().ToString("N"))).FullName;

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
