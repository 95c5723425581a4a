using System.Diagnostics;
using System.Text;

namespace ParticleGrid.Inference.Tests.ReferenceParity;

/// <summary>
/// Runs torchvision_reference.py (copied beside the test assembly) with Debian's PyTorch at /usr/bin/python3.
/// A missing python or torch skips the test (see Prerequisites.PyTorch_is_installed), or fails it with what to
/// install when PARTICLEGRID_TEST_PREREQUISITES=required (as under CI).
/// </summary>
static class TorchvisionReference
{
    const string Python = "/usr/bin/python3";
    const string InstallAdvice = "install python3-torch python3-torchvision (apt) so /usr/bin/python3 can import torch and torchvision";
    /// <summary>The script's exit status when torch or torchvision does not import.</summary>
    const int MissingTorchExitCode = 3;
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    static string Script => Path.Combine(AppContext.BaseDirectory, "ReferenceParity", "torchvision_reference.py");

    /// <summary>Runs the script with <paramref name="arguments"/> and returns what it printed on stdout.</summary>
    public static string Run(params string[] arguments)
    {
        Prerequisite.Torch.SkipIfMissing();
        if (!File.Exists(Python))
            Assert.Fail($"{Python} is missing: {InstallAdvice}.");

        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Script);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        // A pyenv or virtualenv shell must not point Debian's python at another interpreter's libraries.
        start.Environment.Remove("PYTHONHOME");
        start.Environment.Remove("PYTHONPATH");

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {Python}.");
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) errors.AppendLine(line.Data); };
        process.BeginErrorReadLine();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(Patience))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"torchvision_reference.py {arguments[0]} ran longer than {Patience}.");
        }
        process.WaitForExit(); // drains the asynchronous stderr reader

        if (process.ExitCode == MissingTorchExitCode)
            Assert.Fail($"{errors.ToString().Trim()} ({InstallAdvice}).");
        if (process.ExitCode != 0)
            Assert.Fail($"torchvision_reference.py {arguments[0]} failed with exit status {process.ExitCode}:\n{errors}");
        return output;
    }
}
