using System.Diagnostics;
using System.Reflection;

namespace ParticleGrid.Cli.Tests;

public sealed record CommandResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>Runs the built <c>particlegrid</c> as a user would: a separate process, arguments, exit code, stdout and stderr.</summary>
public static class ParticleGridProcess
{
    public static readonly string Program = typeof(ParticleGridProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ParticleGridCli").Value!;

    public static CommandResult Run(params string[] arguments) => Run(new Dictionary<string, string?>(), arguments);

    /// <summary>Runs it with these environment variables set (a null value removes one).</summary>
    public static CommandResult Run(IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        Assert.True(File.Exists(Program), $"particlegrid not built at {Program}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // CI's --blame-crash makes every .NET process write a crash dump when it dies; the fault tests kill particlegrid on
        // purpose, and a dump of a process holding libtorch costs seconds and hundreds of megabytes each.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("DOTNET_Dbg", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("COMPlus_Dbg", StringComparison.OrdinalIgnoreCase) || k.Contains("CreateDump", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        foreach (var (name, value) in environment)
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        start.ArgumentList.Add(Program);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"particlegrid {string.Join(' ', arguments)} did not finish in 5 minutes");
        }
        return new CommandResult(process.ExitCode, output.Result, error.Result);
    }
}
