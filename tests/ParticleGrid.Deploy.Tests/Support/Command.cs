using System.Diagnostics;
using System.Text;

namespace ParticleGrid.Deploy.Tests.Support;

public sealed record CommandResult(int ExitCode, string Output, string Error)
{
    public string Describe(string what) => $"{what} exited {ExitCode}\n--- stdout ---\n{Tail(Output)}\n--- stderr ---\n{Tail(Error)}";

    private static string Tail(string text) => text.Length <= 6000 ? text : "...\n" + text[^6000..];
}

/// <summary>Runs a program without a shell, output captured, with a time limit.</summary>
public static class Command
{
    public static async Task<CommandResult> RunAsync(string program, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repository.Root,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        process.StandardInput.Close();
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', start.ArgumentList)} did not finish within {timeout ?? TimeSpan.FromMinutes(1)}:\n{error}\n{output}");
        }
        process.WaitForExit(); // flushes the asynchronous readers
        lock (output) lock (error) return new CommandResult(process.ExitCode, output.ToString(), error.ToString());
    }
}
