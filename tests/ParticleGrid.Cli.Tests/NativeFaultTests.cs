using System.Diagnostics;
using ParticleGrid.Inference.Native;
using ParticleGrid.Training.Native;

namespace ParticleGrid.Cli.Tests;

/// <summary>Small synthetic images and the CPU-without-caches library, made once for the tests below.</summary>
public sealed class NativeFaultFixture : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("pg-native-").FullName;
    public string Data => Path.Combine(Root, "data");

    public NativeFaultFixture()
    {
        var synth = ParticleGridProcess.Run("synth", "--out", Data, "--per-class", "8", "--seed", "4", "--size", "40");
        Assert.True(synth.ExitCode == 0, synth.ToString());
    }

    /// <summary>
    /// Compiles <c>NativeFaults/cpuid-without-caches.c</c> (see its header): preloaded, it makes this CPU describe no
    /// caches through CPUID, as the Zen 5 VMs on which oneDNN 3.7.1 dies with SIGFPE do. Needs gcc and CPUID faulting.
    /// </summary>
    public string CpuWithoutCaches()
    {
        Prerequisite.Gcc.SkipIfMissing();
        Skip.IfNot(File.ReadAllText("/proc/cpuinfo").Contains(" cpuid_fault"),
            "this CPU has no CPUID faulting (flag cpuid_fault), so a CPU without caches cannot be emulated here");
        string library = Path.Combine(Root, "cpuid-without-caches.so");
        if (!File.Exists(library))
        {
            string source = Path.Combine(AppContext.BaseDirectory, "NativeFaults", "cpuid-without-caches.c");
            var gcc = Process.Start(new ProcessStartInfo("gcc", ["-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"])
                { RedirectStandardError = true })!;
            string error = gcc.StandardError.ReadToEnd();
            gcc.WaitForExit();
            Assert.True(gcc.ExitCode == 0, $"gcc failed: {error}");
        }
        return library;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// A native fault never ends a command without a word (issue 13): the command's native work runs in a child process,
/// and the parent names the signal, the step and what to do in one line, with exit code 128 + the signal. The faults are
/// real: the test switch <see cref="NativeSteps.TestFaultVariable"/> divides by zero inside libc, and the CPU-without-caches
/// library makes libtorch's own oneDNN divide by zero, exactly as on the machines that showed the fault.
/// </summary>
public sealed class NativeFaultTests(NativeFaultFixture fixture) : IClassFixture<NativeFaultFixture>, IDisposable
{
    readonly string scratch = Directory.CreateTempSubdirectory("pg-native-case-").FullName;
    public void Dispose() => Directory.Delete(scratch, recursive: true);

    static string[] FaultLines(CommandResult result) =>
        [.. result.Error.Split('\n').Where(line => line.StartsWith("particlegrid ", StringComparison.Ordinal) && line.Contains(" stopped by "))];

    CommandResult Train(string architecture, IReadOnlyDictionary<string, string?> environment, string output = "model") =>
        ParticleGridProcess.Run(environment, "train", "--data", fixture.Data, "--arch", architecture, "--out", Path.Combine(scratch, output),
            "--epochs", "1", "--input-size", "32", "--batch", "8", "--seed", "5");

    [Theory]
    [InlineData("SIGFPE", 136, "arithmetic fault")]
    [InlineData("SIGSEGV", 139, "invalid memory access")]
    [InlineData("SIGABRT", 134, "abort")]
    public void Train_killed_by_a_signal_in_its_native_step_says_which_where_and_what_to_do(string signal, int exitCode, string meaning)
    {
        var result = Train("shufflenet_v2", new Dictionary<string, string?> { [NativeSteps.TestFaultVariable] = $"{signal}:training" });

        Assert.True(result.ExitCode == exitCode, result.ToString());
        var line = Assert.Single(FaultLines(result));
        Assert.StartsWith($"particlegrid train: stopped by {signal}, ", line);
        Assert.Contains(meaning, line);
        Assert.Contains("while training shufflenet_v2 (epoch 1/1", line);
        Assert.Contains("What to do: ", line);
        Assert.False(Directory.Exists(Path.Combine(scratch, "model")), "a killed training must leave no model folder");
    }

    [Fact]
    public void Demo_killed_by_SIGFPE_while_training_says_so_in_one_line()
    {
        string data = Path.Combine(scratch, "demo");
        var result = ParticleGridProcess.Run(new Dictionary<string, string?> { [NativeSteps.TestFaultVariable] = "SIGFPE:training" },
            "demo", "--exit", "--data-dir", data, "--urls", "http://127.0.0.1:0");

        Assert.True(result.ExitCode == 136, result.ToString());
        var line = Assert.Single(FaultLines(result));
        Assert.StartsWith("particlegrid demo: stopped by SIGFPE, ", line);
        Assert.Contains("while training shufflenet_v2 (epoch 1/10", line);
        Assert.Contains("PARTICLEGRID__TRAINING__ONEDNNBACKWARD=off", line);
    }

    [Fact]
    public void A_command_that_fails_normally_keeps_its_exit_code_and_reports_no_fault()
    {
        var result = ParticleGridProcess.Run("train", "--data", Path.Combine(scratch, "missing"), "--arch", "resnet50", "--out", Path.Combine(scratch, "m"));

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Empty(FaultLines(result));
        Assert.Contains("error: ", result.Error);
    }

    [Fact]
    public void Killing_the_command_stops_the_child_that_does_its_work()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { ParticleGridProcess.Program, "train", "--data", fixture.Data, "--arch", "shufflenet_v2",
                     "--out", Path.Combine(scratch, "long"), "--epochs", "500", "--input-size", "32", "--batch", "8" })
            start.ArgumentList.Add(argument);
        using var parent = Process.Start(start)!;
        int? child = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (child is null && DateTime.UtcNow < deadline && !parent.HasExited)
        {
            child = ChildrenOf(parent.Id).FirstOrDefault() is var id && id > 0 ? id : null;
            Thread.Sleep(100);
        }
        Assert.True(child is not null, "train did not start its child process");

        parent.Kill(); // SIGKILL: the parent cannot pass anything on; the kernel tells the child (PR_SET_PDEATHSIG)
        parent.WaitForExit();

        var gone = DateTime.UtcNow.AddSeconds(30);
        while (Directory.Exists($"/proc/{child}") && !IsZombie(child.Value) && DateTime.UtcNow < gone) Thread.Sleep(100);
        Assert.False(Directory.Exists($"/proc/{child}") && !IsZombie(child.Value), $"child {child} still runs after its parent was killed");
    }

    [SkippableFact]
    public void On_a_CPU_without_caches_resnet50_trains_and_forced_oneDNN_is_reported_as_the_real_SIGFPE()
    {
        string cpuWithoutCaches = fixture.CpuWithoutCaches();
        var preload = new Dictionary<string, string?> { ["LD_PRELOAD"] = cpuWithoutCaches, [TrainingBackward.SettingVariable] = null };

        var safe = Train("resnet50", preload, "safe");
        Assert.True(safe.ExitCode == 0, safe.ToString());
        Assert.Contains("backward on libtorch's kernels: CPUID describes no real caches", safe.Error);
        Assert.True(File.Exists(Path.Combine(scratch, "safe", "weights.pth")));

        var forced = Train("resnet50", new Dictionary<string, string?>(preload) { [TrainingBackward.SettingVariable] = "on" }, "forced");
        Assert.True(forced.ExitCode == 136, forced.ToString());
        var line = Assert.Single(FaultLines(forced));
        Assert.StartsWith("particlegrid train: stopped by SIGFPE, ", line);
        Assert.Contains("while training resnet50 (epoch 1/1, backward on oneDNN)", line);
    }

    /// <summary>oneDNN's own log proves the route: off runs no oneDNN backward primitive, and keeps oneDNN's forward.</summary>
    [Fact]
    public void The_safe_route_runs_no_oneDNN_backward_primitive_and_keeps_oneDNN_forward()
    {
        var verbose = new Dictionary<string, string?> { ["ONEDNN_VERBOSE"] = "1" };
        var safe = Train("resnet50", new Dictionary<string, string?>(verbose) { [TrainingBackward.SettingVariable] = "off" }, "off");
        var automatic = Train("resnet50", new Dictionary<string, string?>(verbose) { [TrainingBackward.SettingVariable] = "auto" }, "auto");

        Assert.True(safe.ExitCode == 0, safe.Error);
        Assert.True(automatic.ExitCode == 0, automatic.Error);
        static int Count(CommandResult r, string direction) =>
            r.Output.Split('\n').Count(l => l.StartsWith("onednn_verbose", StringComparison.Ordinal) && l.Contains(",exec,") && l.Contains("convolution") && l.Contains(direction));
        Assert.Equal(0, Count(safe, "backward"));
        Assert.True(Count(safe, "forward") > 0, "the forward pass should stay on oneDNN");
        if (CpuCacheTopology.Read().OneDnnCanSizeItsBlocking)
            Assert.True(Count(automatic, "backward") > 0, "on a CPU with real caches, auto keeps oneDNN's backward");
        else
            Assert.Equal(0, Count(automatic, "backward"));
    }

    static IEnumerable<int> ChildrenOf(int parent) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Select(n => int.TryParse(n, out int id) ? id : 0)
            .Where(id => id > 0 && ParentOf(id) == parent);

    static int ParentOf(int id)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{id}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { return 0; }
    }

    static bool IsZombie(int id)
    {
        try { string stat = File.ReadAllText($"/proc/{id}/stat"); return stat[(stat.LastIndexOf(')') + 2)] == 'Z'; }
        catch (IOException) { return true; }
    }
}
