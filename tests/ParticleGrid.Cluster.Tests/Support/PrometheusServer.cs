using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>
/// Debian's Prometheus and promtool (package <c>prometheus</c>, installed by .ci/tools.sh). <see cref="StartAsync"/>
/// runs a real Prometheus on a free loopback port that scrapes one target every second, with its data in a temporary
/// folder; disposing it kills the process and deletes the folder.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Job = "particlegrid";

    private readonly Process _process;
    private readonly TemporaryDirectory _directory;
    private readonly StringBuilder _log = new();

    private PrometheusServer(Process process, TemporaryDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public HttpClient Http { get; }

    public string Log { get { lock (_log) return _log.ToString(); } }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// The path of a Prometheus tool; the test is skipped when it is missing (see Prerequisites.Prometheus_is_installed),
    /// or fails saying how to install it.
    /// </summary>
    public static string Tool(string name)
    {
        Prerequisite.Prometheus.SkipIfMissing();
        foreach (var directory in new[] { "/usr/bin" }.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)))
        {
            string path = Path.Combine(directory, name);
            if (File.Exists(path)) return path;
        }
        Assert.Fail($"{name} is not installed: run .ci/tools.sh (it installs Debian's package 'prometheus', which has prometheus and promtool in /usr/bin)");
        return null!;
    }

    public static async Task<PrometheusServer> StartAsync(string target)
    {
        string binary = Tool("prometheus");
        var directory = new TemporaryDirectory();
        int port = RunningHost.FreePorts(1)[0];
        string config = Path.Combine(directory.Path, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: {Job}
                metrics_path: /metrics
                static_configs:
                  - targets: ['{target}']
            """);
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory.Path,
        };
        foreach (var argument in new[]
                 {
                     $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory.Path, "data")}",
                     $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
                 })
        {
            start.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch
        {
            directory.Dispose();
            throw;
        }
        var server = new PrometheusServer(process, directory, port);
        try
        {
            for (var deadline = DateTime.UtcNow.AddSeconds(20); ; await Task.Delay(100))
            {
                if (process.HasExited) Assert.Fail($"prometheus exited with {process.ExitCode}:\n{server.Log}");
                try
                {
                    if ((await server.Http.GetAsync("/-/ready")).IsSuccessStatusCode) return server;
                }
                catch (HttpRequestException) { }
                if (DateTime.UtcNow > deadline) Assert.Fail($"prometheus was not ready after 20 s:\n{server.Log}");
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>GET an API path; the "data" of a successful answer, or a failure with Prometheus' error.</summary>
    public async Task<JsonElement> ApiAsync(string pathAndQuery)
    {
        var response = await Http.GetAsync(pathAndQuery);
        string body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        Assert.True(response.IsSuccessStatusCode && document.RootElement.GetProperty("status").GetString() == "success",
            $"GET {pathAndQuery}: {(int)response.StatusCode} {body}");
        return document.RootElement.GetProperty("data").Clone();
    }

    /// <summary>An instant query's result (a vector's samples, or a scalar as one element).</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryAsync(string promql)
    {
        var data = await ApiAsync("/api/v1/query?query=" + Uri.EscapeDataString(promql));
        var result = data.GetProperty("result");
        return data.GetProperty("resultType").GetString() is "vector" or "matrix" ? [.. result.EnumerateArray()] : [result];
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        }
        catch (InvalidOperationException) { }
        catch (OperationCanceledException) { }
        _process.Dispose();
        _directory.Dispose();
    }
}
