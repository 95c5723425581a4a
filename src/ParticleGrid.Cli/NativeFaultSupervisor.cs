using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using ParticleGrid.Inference.Native;
using ParticleGrid.Training.Native;

namespace ParticleGrid.Cli;

/// <summary>
/// Runs the commands that do native work (libtorch, oneDNN, ONNX Runtime) in a child process and reports, in one line,
/// a child that a signal killed. A native fault (SIGFPE, SIGSEGV, SIGILL) ends a .NET process at once, with no managed
/// code left to say why: the shell shows exit code 136 and nothing else. The parent is only a few megabytes that wait,
/// so the child keeps its full speed; the parent forwards Ctrl-C and SIGTERM, passes the child's exit code through, and
/// after a signal prints which signal, in which step (<see cref="NativeSteps"/>), and what to do, then exits 128 + the
/// signal. The child dies with its parent (PR_SET_PDEATHSIG), so killing the command never leaves a silo behind.
/// </summary>
public static class NativeFaultSupervisor
{
    /// <summary>Set for the child (the parent's process id), and for everything it starts, so nothing supervises twice.</summary>
    public const string ChildVariable = "PARTICLEGRID_SUPERVISED_BY";

    /// <summary>The commands whose work runs native code: networks trained, evaluated, run or hosted.</summary>
    public static IReadOnlySet<string> Commands { get; } = new HashSet<string> { "train", "evaluate", "predict", "bench", "demo", "serve", "ingest", "watch" };

    /// <summary>
    /// In the parent: runs the command in a child and returns its exit code. In the child, or for commands without
    /// native work (and for --help): returns null, and the caller runs the command itself.
    /// </summary>
    public static int? Supervise(string[] args)
    {
        if (Environment.GetEnvironmentVariable(ChildVariable) is { } parent)
        {
            DieWithParent(parent);
            return null;
        }
        if (!OperatingSystem.IsLinux() || args.Length == 0 || !Commands.Contains(args[0])
            || args.Any(a => a is "--help" or "-h" or "-?" or "/?" or "/h"))
            return null;
        return RunChild(args);
    }

    /// <summary>In the child, after the command returned: tells the parent this was an exit, not a signal.</summary>
    public static void ChildExited() => NativeSteps.Exited();

    static int RunChild(string[] args)
    {
        var folder = Directory.CreateTempSubdirectory("particlegrid-"); // 0700: no other user can plant the step file
        string stepFile = Path.Combine(folder.FullName, "native-step");
        try
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false }; // stdio inherited
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
                start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location); // `dotnet particlegrid.dll ...`
            foreach (var argument in args) start.ArgumentList.Add(argument);
            start.Environment[ChildVariable] = Environment.ProcessId.ToString();
            start.Environment[NativeSteps.StepFileVariable] = stepFile;

            using var child = Process.Start(start)!;
            int forwarded = 0;
            var registrations = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGQUIT, PosixSignal.SIGHUP }
                .Select(signal => PosixSignalRegistration.Create(signal, context =>
                {
                    // The child decides how to stop (serve drains its silo); the parent waits for it.
                    context.Cancel = true;
                    int raw = RawSignal(context.Signal);
                    Volatile.Write(ref forwarded, raw);
                    _ = kill(child.Id, raw);
                })).ToList();
            child.WaitForExit();
            registrations.ForEach(r => r.Dispose());

            int code = child.ExitCode;
            string step = ReadStep(stepFile);
            if (step == NativeSteps.ExitedMarker || code <= 128 || code > 128 + 64 || Volatile.Read(ref forwarded) != 0)
                return code; // an ordinary exit, or a signal the user sent on purpose

            Console.Out.Flush();
            Console.Error.WriteLine(Report(args[0], code - 128, step));
            return code;
        }
        finally
        {
            try { folder.Delete(recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The one line a user sees when a signal ended the command.</summary>
    public static string Report(string command, int signal, string? step) =>
        $"particlegrid {command}: stopped by {NativeSignals.Name(signal)}, {NativeSignals.Meaning(signal)}, " +
        $"{(string.IsNullOrWhiteSpace(step) ? "outside a named step" : $"while {step}")}. " +
        $"What to do: {NativeSignals.Advice(signal)}.";

    static string ReadStep(string file)
    {
        try { return File.Exists(file) ? File.ReadAllText(file).Trim() : ""; }
        catch (IOException) { return ""; }
    }

    static int RawSignal(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGINT => NativeSignals.SIGINT,
        PosixSignal.SIGTERM => NativeSignals.SIGTERM,
        PosixSignal.SIGQUIT => NativeSignals.SIGQUIT,
        PosixSignal.SIGHUP => NativeSignals.SIGHUP,
        _ => (int)signal,
    };

    /// <summary>
    /// The child asks the kernel for SIGTERM when its parent dies (a kill -9 of the command, a test's Process.Kill), so
    /// it stops as after Ctrl-C instead of living on with the data directory and ports. A parent already gone is seen by
    /// its process id. Descendants keep the variable, so a bench probe is not supervised again; only this child arms.
    /// </summary>
    static void DieWithParent(string parent)
    {
        if (!OperatingSystem.IsLinux() || !int.TryParse(parent, out int parentId)) return;
        if (Environment.GetEnvironmentVariable(ArmedVariable) is not null) return;
        Environment.SetEnvironmentVariable(ArmedVariable, "1");
        NativeSteps.KeepStepFileToThisProcess();
        const int PR_SET_PDEATHSIG = 1;
        _ = prctl(PR_SET_PDEATHSIG, (nuint)NativeSignals.SIGTERM, 0, 0, 0);
        if (getppid() != parentId) Environment.Exit(128 + NativeSignals.SIGTERM);
    }

    const string ArmedVariable = "PARTICLEGRID_SUPERVISED_CHILD_ARMED";

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    [DllImport("libc", SetLastError = true)]
    static extern int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [DllImport("libc")]
    static extern int getppid();
}
