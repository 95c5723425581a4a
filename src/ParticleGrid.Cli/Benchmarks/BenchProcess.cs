using System.Diagnostics;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>How a helper program of the benchmarks ended: its exit code, its standard output, and the last line of its standard error.</summary>
public sealed record BenchProcessResult(int ExitCode, string Output, string? LastError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>"(exit N): last error line", for a progress message.</summary>
    public string Failure => $"(exit {ExitCode}): {LastError}";
}

/// <summary>Runs the helper programs the benchmarks use (PyTorch scripts, fresh probe processes) to completion.</summary>
public static class BenchProcess
{
    public static BenchProcessResult Run(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return new BenchProcessResult(process.ExitCode, output, error.Result.Split('\n').LastOrDefault(line => line.Length > 0));
    }
}
