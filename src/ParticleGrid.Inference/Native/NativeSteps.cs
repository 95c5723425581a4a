using System.Runtime.InteropServices;

namespace ParticleGrid.Inference.Native;

/// <summary>
/// Says which native step this process is in ("training resnet50, epoch 2/10"), so that whoever watches the process
/// can name the step when libtorch, oneDNN or ONNX Runtime kill it with a signal. A signal ends the process before any
/// managed code can run, so the step cannot be reported from inside: it is written, when it changes, to the file named by
/// <see cref="StepFileVariable"/>, which the supervising parent (the CLI's <c>NativeFaultSupervisor</c>) reads after the
/// child died. Without that variable (tests, library use) a step costs one string comparison.
/// </summary>
public static class NativeSteps
{
    /// <summary>The file the supervisor reads after a native fault; set by the supervisor for its child.</summary>
    public const string StepFileVariable = "PARTICLEGRID_NATIVE_STEP_FILE";

    /// <summary>
    /// Test-only: <c>SIGNAL</c> or <c>SIGNAL:prefix</c> (e.g. <c>SIGFPE:training</c>) raises that signal on the
    /// first step whose description starts with the prefix, the way a faulting native kernel would: the process dies by
    /// the signal and the supervisor must report it. Used by the tests of the one-line report; never set in production.
    /// </summary>
    public const string TestFaultVariable = "PARTICLEGRID_TEST_NATIVE_FAULT";

    static readonly string? StepFile = Environment.GetEnvironmentVariable(StepFileVariable);
    static readonly (int Signal, string Prefix)? TestFault = ParseTestFault(Environment.GetEnvironmentVariable(TestFaultVariable));
    static readonly Lock Gate = new();
    static string? current;

    /// <summary>What the step file says after the command returned normally: the exit was not a signal.</summary>
    public const string ExitedMarker = "\u0000exited";

    /// <summary>
    /// Keeps the step file to this process: processes it starts (bench's probes) have their own parent to report to,
    /// and must not overwrite this process's step.
    /// </summary>
    public static void KeepStepFileToThisProcess()
    {
        _ = StepFile; // read before the variable goes
        Environment.SetEnvironmentVariable(StepFileVariable, null);
    }

    /// <summary>Marks a normal end of the command, so the supervisor does not mistake exit code 130 or 134 for a signal.</summary>
    public static void Exited()
    {
        lock (Gate)
        {
            if (StepFile is null) return;
            try { File.WriteAllText(StepFile, ExitedMarker); } catch (IOException) { }
        }
    }

    /// <summary>The step the process is in now, or null between steps.</summary>
    public static string? Current { get { lock (Gate) return current; } }

    /// <summary>Enters a step until the returned scope is disposed (the previous step is then current again).</summary>
    public static IDisposable Begin(string step)
    {
        string? previous;
        lock (Gate)
        {
            previous = current;
            Set(step);
        }
        if (TestFault is { } fault && step.StartsWith(fault.Prefix, StringComparison.Ordinal))
            RaiseForTest(fault.Signal);
        return new Scope(previous);
    }

    static void Set(string? step)
    {
        if (step == current) return;
        current = step;
        if (StepFile is null) return;
        try { File.WriteAllText(StepFile, step ?? ""); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // the report is a courtesy; the work goes on
    }

    sealed class Scope(string? previous) : IDisposable
    {
        int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 1) return;
            lock (Gate) Set(previous);
        }
    }

    /// <summary>Parses <see cref="TestFaultVariable"/>; an unknown signal name is refused loudly rather than ignored.</summary>
    public static (int Signal, string Prefix)? ParseTestFault(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var parts = value.Split(':', 2);
        // Only faults this process can really die of: the runtime swallows a SIGILL or SIGBUS that kill() sends.
        string[] possible = ["SIGFPE", "SIGSEGV", "SIGABRT", "SIGKILL"];
        string name = parts[0].Trim().ToUpperInvariant();
        if (!possible.Contains(name))
            throw new ArgumentException($"{TestFaultVariable}={value}: use one of {string.Join(", ", possible)}");
        int signal = NativeSignals.Number(name)!.Value;
        return (signal, parts.Length > 1 ? parts[1] : "");
    }

    /// <summary>
    /// Faults the way a native kernel does. The runtime ignores a SIGFPE or SIGSEGV that raise() sends (it handles only
    /// faults the CPU raised), so those two are real faults inside libc: an integer division by zero in div(), a read of
    /// address 1 in strlen(). SIGABRT is abort(); SIGKILL is sent with kill().
    /// </summary>
    static void RaiseForTest(int signal)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        switch (signal)
        {
            case NativeSignals.SIGFPE: _ = div(1, 0); break;
            case NativeSignals.SIGSEGV: _ = strlen(1); break;
            case NativeSignals.SIGABRT: abort(); break;
            default: _ = kill(Environment.ProcessId, signal); Thread.Sleep(TimeSpan.FromSeconds(10)); break;
        }
    }

    [DllImport("libc")]
    static extern long div(int numerator, int denominator);

    [DllImport("libc")]
    static extern nuint strlen(nint text);

    [DllImport("libc")]
    static extern void abort();

    [DllImport("libc")]
    static extern int kill(int pid, int signal);
}

/// <summary>The POSIX signals a native library can die by on Linux x86-64, with what each means for a user.</summary>
public static class NativeSignals
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8, SIGKILL = 9,
        SIGSEGV = 11, SIGPIPE = 13, SIGTERM = 15;

    static readonly Dictionary<string, int> ByName = new()
    {
        ["SIGHUP"] = SIGHUP, ["SIGINT"] = SIGINT, ["SIGQUIT"] = SIGQUIT, ["SIGILL"] = SIGILL, ["SIGABRT"] = SIGABRT,
        ["SIGBUS"] = SIGBUS, ["SIGFPE"] = SIGFPE, ["SIGKILL"] = SIGKILL, ["SIGSEGV"] = SIGSEGV, ["SIGPIPE"] = SIGPIPE,
        ["SIGTERM"] = SIGTERM,
    };

    public static IEnumerable<string> Names => ByName.Keys;

    public static int? Number(string name) => ByName.TryGetValue(name.ToUpperInvariant(), out int n) ? n : null;

    public static string Name(int signal) => ByName.FirstOrDefault(p => p.Value == signal).Key ?? $"signal {signal}";

    /// <summary>What the signal is, in a few words.</summary>
    public static string Meaning(int signal) => signal switch
    {
        SIGFPE => "an arithmetic fault (integer division by zero) in native code",
        SIGSEGV => "an invalid memory access in native code",
        SIGBUS => "a bus error (a bad memory access or a file that shrank under a mapping) in native code",
        SIGILL => "an illegal instruction in native code (an instruction this CPU does not have)",
        SIGABRT => "an abort from native code (its message, if any, is above)",
        SIGKILL => "SIGKILL from outside the process, most often the kernel's out-of-memory killer",
        _ => $"{Name(signal)}",
    };

    /// <summary>What a user can do about it.</summary>
    public static string Advice(int signal) => signal switch
    {
        SIGFPE => "this CPU trips a fault in libtorch/oneDNN; training routes around the known one by itself " +
                  "(docs/training.md); to force the safe path set PARTICLEGRID__TRAINING__ONEDNNBACKWARD=off, " +
                  "and report this line with 'lscpu' output",
        SIGILL => "the native libraries need an instruction this CPU lacks; report this line with 'lscpu' output",
        SIGKILL => "see 'dmesg' for the out-of-memory killer; give the process more memory or use a smaller --batch",
        SIGSEGV or SIGBUS or SIGABRT => "run the same command again; if it repeats, report this line with the command and 'lscpu' output",
        _ => "run the same command again",
    };
}
