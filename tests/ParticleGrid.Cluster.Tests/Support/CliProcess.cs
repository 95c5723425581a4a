using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>The real <c>particlegrid</c> program in its own process: started, watched, killed, or run to the end.</summary>
public sealed class CliProcess : IDisposable
{
    /// <summary>particlegrid, the command-line program (serve, ingest ...).</summary>
    public static readonly string Program = Built("ParticleGridCli");

    /// <summary>particlegrid-ingest, the instrument client (no networks).</summary>
    public static readonly string IngestClient = Built("ParticleGridIngestClient");

    private static string Built(string key) => typeof(CliProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private readonly Process _process;
    private readonly StringBuilder _output = new(), _error = new();

    public CliProcess(string workingDirectory, params string[] arguments) : this(Program, null, workingDirectory, arguments) { }

    /// <summary>particlegrid with <paramref name="environment"/> set on top of this process's (a cluster id, say).</summary>
    public static CliProcess WithEnvironment(IReadOnlyDictionary<string, string> environment, string workingDirectory, params string[] arguments) =>
        new(Program, environment, workingDirectory, arguments);

    /// <summary>The process's id, to kill it with SIGKILL as an operator or the kernel would.</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <param name="program">The program's dll (<see cref="IngestClient"/>, say).</param>
    /// <param name="environment">Set for the process on top of this one's (a token, say).</param>
    public CliProcess(string program, IReadOnlyDictionary<string, string>? environment, string workingDirectory, params string[] arguments)
    {
        Assert.True(File.Exists(program), $"{Path.GetFileNameWithoutExtension(program)} not built at {program}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        start.ArgumentList.Add(program);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_error) _error.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _peakWatch = Task.Run(WatchPeakResidentBytesAsync);
    }

    private readonly Task _peakWatch;
    private long _peakResidentBytes;

    /// <summary>
    /// The process's peak resident memory (Linux's VmHWM) as last seen while it ran, 0 where /proc has none: what the
    /// issue's client memory target is stated in. Read every 50 ms, so a peak in its last moments may be missed.
    /// </summary>
    public long PeakResidentBytes => Interlocked.Read(ref _peakResidentBytes);

    /// <summary>The process's resident memory now (Linux's VmRSS), 0 where /proc has none.</summary>
    public long ResidentBytes
    {
        get
        {
            try
            {
                string? line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                return line is not null && long.TryParse(line["VmRSS:".Length..].Replace("kB", "").Trim(), out long kilobytes) ? kilobytes * 1024 : 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
        }
    }

    private async Task WatchPeakResidentBytesAsync()
    {
        string status = $"/proc/{_process.Id}/status";
        while (!_process.HasExited)
        {
            try
            {
                string? line = (await File.ReadAllLinesAsync(status)).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                if (line is not null && long.TryParse(line["VmHWM:".Length..].Replace("kB", "").Trim(), out long kilobytes))
                    Interlocked.Exchange(ref _peakResidentBytes, Math.Max(PeakResidentBytes, kilobytes * 1024));
            }
            catch (IOException) { return; }
            catch (UnauthorizedAccessException) { return; }
            await Task.Delay(50);
        }
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    public string Error { get { lock (_error) return _error.ToString(); } }

    public static CliResult Run(string workingDirectory, params string[] arguments)
    {
        using var process = new CliProcess(workingDirectory, arguments);
        return process.WaitForExit(TimeSpan.FromMinutes(4));
    }

    /// <summary>Runs particlegrid to the end with these variables set (PARTICLEGRID_TOKEN for ingest --cluster, say).</summary>
    public static CliResult Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        using var process = new CliProcess(Program, environment, workingDirectory, arguments);
        return process.WaitForExit(TimeSpan.FromMinutes(4));
    }

    /// <summary>Runs the instrument client (particlegrid-ingest) to the end.</summary>
    public static CliResult RunIngestClient(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        using var process = new CliProcess(IngestClient, environment, workingDirectory, arguments);
        return process.WaitForExit(TimeSpan.FromMinutes(4));
    }

    public CliResult WaitForExit(TimeSpan limit)
    {
        if (!_process.WaitForExit(limit))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"the program did not finish in {limit}\n{Output}\n{Error}");
        }
        _process.WaitForExit();
        return new CliResult(_process.ExitCode, Output, Error);
    }

    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}

public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}
