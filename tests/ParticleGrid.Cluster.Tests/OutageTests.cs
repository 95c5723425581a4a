using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Runtime;
using Orleans.Storage;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Domain;
using ParticleGrid.Grains;
using ParticleGrid.Host.Hosting;
using ParticleGrid.Host.Persistence;
using ParticleGrid.Storage;
using Xunit.Abstractions;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// Faults injected into real processes and real servers: the host killed with SIGKILL mid-run, PostgreSQL cut for 30 s
/// mid-run (a TCP proxy in front of the shared server), the embedded data directory's disk full (a small tmpfs), a worker
/// silo killed; and a grain storage write that fails once. Outages pause runs; nothing is lost, doubled or failed.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class OutageTests(TinyModels models, ITestOutputHelper output) : IDisposable
{
    private readonly TemporaryDirectory _work = new();

    private static void WriteGoodImages(string folder, int count, int seed)
    {
        Directory.CreateDirectory(folder);
        var types = ParticleTypes.StudyTypes;
        for (int i = 0; i < count; i++) File.WriteAllBytes(Path.Combine(folder, $"particle_{i:D4}.png"), TinyModels.Particle(types[i % 4], seed + i).Png);
    }

    /// <summary>`particlegrid serve` in its own process on free ports, with the tiny models active; returns when it says it serves.</summary>
    private async Task<(CliProcess Host, int GatewayPort)> StartHostProcessAsync(string dataDirectory, int[]? fixedPorts = null)
    {
        int[] ports = fixedPorts ?? RunningHost.FreePorts(3);
        var host = new CliProcess(_work.Path, "serve", "--data-dir", dataDirectory, "--silo-port", $"{ports[0]}", "--gateway-port", $"{ports[1]}",
            "--urls", $"http://127.0.0.1:{ports[2]}", "--device", "cpu", "--models", string.Join(',', models.Directories));
        for (var deadline = DateTime.UtcNow.AddMinutes(3); !host.Output.Contains("Ctrl-C stops.", StringComparison.Ordinal); await Task.Delay(100))
        {
            if (host.HasExited || DateTime.UtcNow > deadline) Assert.Fail($"the host did not start\n{host.Output}\n{host.Error}");
        }
        return (host, ports[1]);
    }

    /// <summary>
    /// An instrument token made in the data directory's store before the host starts, as an admin makes one: what an Orleans
    /// client process (ingest/watch --cluster) presents in PARTICLEGRID_TOKEN. The store is the host's, so it survives restarts.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, string>> ClientEnvironmentAsync(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        using var store = SqlParticleStore.Sqlite(Path.Combine(dataDirectory, "particles.db"));
        await store.EnsureCreatedAsync();
        string token = (await ParticleGrid.Host.Auth.AccessTokens.CreateAsync(store, "instrument", "outage test instrument")).Token;
        return new Dictionary<string, string> { ["PARTICLEGRID_TOKEN"] = token };
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        for (var deadline = DateTime.UtcNow + limit; !await condition(); await Task.Delay(50))
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting until {what}");
    }

    /// <summary>Exactly the folder's particles, each once, none failed, and the kept tallies equal to a recount.</summary>
    private static async Task AssertRecordedExactlyAsync(SqlParticleStore store, string runId, int count)
    {
        var stored = await store.ParticlesOfRunAsync(runId);
        Assert.Equal(count, stored.Count);
        Assert.Equal(count, stored.Select(p => p.ParticleId).Distinct().Count());
        Assert.Empty(stored.Where(p => p.Failure is not null).Select(p => $"{p.ParticleId}: {p.Failure}"));
        Assert.Empty((await store.CheckAggregatesAsync(rewrite: false)).Differences);
    }

    [Fact]
    public async Task Ingest_whose_host_is_killed_says_in_one_line_what_is_recorded_and_the_rerun_records_exactly_the_folder()
    {
        string data = Path.Combine(_work.Path, "data");
        string run = Path.Combine(_work.Path, "sample-kill");
        WriteGoodImages(run, 480, 7000);
        using var store = SqlParticleStore.Sqlite(Path.Combine(data, "particles.db"));
        const string runId = "MFI-1:sample-kill";
        var client = await ClientEnvironmentAsync(data);

        var (host, gateway) = await StartHostProcessAsync(data);
        string[] arguments = ["ingest", run, "--lot", "LOT-KILL", "--instrument", "MFI-1", "--cluster", $"127.0.0.1:{gateway}", "--retry-for", "5s"];
        CliResult interrupted;
        using (host)
        using (var ingest = new CliProcess(CliProcess.Program, client, _work.Path, arguments))
        {
            await WaitUntilAsync(async () => (await store.CountRunAsync(runId)).Recorded > 0 || ingest.HasExited, TimeSpan.FromMinutes(3), "particles are recorded");
            host.Kill();   // SIGKILL: no drain, no goodbye to the client
            interrupted = ingest.WaitForExit(TimeSpan.FromMinutes(3));
        }
        output.WriteLine(interrupted.ToString());
        int recorded = (await store.CountRunAsync(runId)).Recorded;
        Assert.InRange(recorded, 1, 479);
        Assert.NotEqual(0, interrupted.ExitCode);
        Assert.DoesNotContain("Unhandled exception", interrupted.Error);
        Assert.DoesNotMatch(new Regex(@"^\s+at ", RegexOptions.Multiline), interrupted.Error);
        var line = Assert.Single(interrupted.Error.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        var said = Regex.Match(line, @"(\d+) of 480 particles are recorded; run the same command again to resume");
        Assert.True(said.Success, line);
        Assert.InRange(int.Parse(said.Groups[1].Value), 0, recorded);   // what the site confirmed, never more than it has

        var (again, againGateway) = await StartHostProcessAsync(data);
        using (again)
        {
            arguments[^3] = $"127.0.0.1:{againGateway}";
            var rerun = CliProcess.Run(_work.Path, client, arguments);
            Assert.True(rerun.ExitCode == 0, rerun.ToString());
            Assert.Contains($"({480 - recorded} now, {recorded} already recorded before)", rerun.Output);
        }
        await AssertRecordedExactlyAsync(store, runId, 480);
    }

    [Fact]
    public async Task Watch_outlives_a_killed_gateway_and_sends_the_runs_that_came_meanwhile_once_it_is_back()
    {
        string data = Path.Combine(_work.Path, "data");
        string exports = Path.Combine(_work.Path, "exports");
        WriteGoodImages(Path.Combine(exports, "run-a"), 24, 100);
        File.WriteAllText(Path.Combine(exports, "run-a", "run.json"), """{"lot":"LOT-WO","instrument":"FC-W","volumeMl":0.5,"umPerPixel":0.7}""");
        int[] ports = RunningHost.FreePorts(3);
        var client = await ClientEnvironmentAsync(data);
        var (host, gateway) = await StartHostProcessAsync(data, ports);
        using var store = SqlParticleStore.Sqlite(Path.Combine(data, "particles.db"));
        using var watch = new CliProcess(CliProcess.Program, client, _work.Path, "watch", exports, "--settle-seconds", "0", "--retry-for", "5s", "--cluster", $"127.0.0.1:{gateway}");
        using (host)
        {
            await WaitUntilAsync(async () => (await store.CountRunAsync("FC-W:run-a")).Recorded == 24 || watch.HasExited, TimeSpan.FromMinutes(2), "run-a is recorded");
            host.Kill();
        }

        // While the gateway is down a new run arrives; watch keeps trying and does not exit.
        WriteGoodImages(Path.Combine(exports, "run-b"), 40, 200);
        File.WriteAllText(Path.Combine(exports, "run-b", "run.json"), """{"lot":"LOT-WO","instrument":"FC-W","volumeMl":0.5,"umPerPixel":0.7}""");
        // Up to 4 minutes: watch reports the run once its connection attempts have given up, which on a busy 2-core machine
        // took longer than 2 minutes once; the wait ends as soon as it does.
        await WaitUntilAsync(() => Task.FromResult(watch.Error.Contains("run-b", StringComparison.Ordinal) || watch.HasExited), TimeSpan.FromMinutes(4),
            "watch hears the site is down");
        Assert.False(watch.HasExited, $"watch exited while the gateway was down\n{watch.Output}\n{watch.Error}");

        var (again, _) = await StartHostProcessAsync(data, ports);
        using (again)
        {
            await WaitUntilAsync(async () => (await store.CountRunAsync("FC-W:run-b")).Recorded == 40 || watch.HasExited, TimeSpan.FromMinutes(3), "run-b is recorded");
            Assert.False(watch.HasExited, $"watch exited\n{watch.Output}\n{watch.Error}");
            output.WriteLine(watch.Error);
            await AssertRecordedExactlyAsync(store, "FC-W:run-b", 40);
            Assert.Equal(24, (await store.CountRunAsync("FC-W:run-a")).Recorded);
        }
    }

    [Fact]
    public async Task HTTP_ingest_answers_503_with_Retry_After_while_no_worker_can_classify_and_records_nothing()
    {
        // A gateway without any worker silo: every batch waits its outage time, then the run answers "paused".
        await using var host = await RunningHost.StartAsync(o =>
        {
            o.DataDirectory = Path.Combine(_work.Path, "data");
            o.Roles = "gateway";
            o.Runs.OutageWait = TimeSpan.FromSeconds(2);
            o.Runs.RetryAfter = TimeSpan.FromSeconds(7);
        });
        var started = await host.Http.PostAsJsonAsync("/runs/http-paused", new { lotId = "LOT-503", instrumentId = "MFI-503", analysedVolumeMl = 0.25 });
        Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
        var (png, _) = TinyModels.Particle(ParticleType.Protein, 5);
        var posted = await host.Http.PostAsJsonAsync("/runs/http-paused/batches/b1", new { particles = new[] { new { particleId = "p1", image = Convert.ToBase64String(png) } } });

        string body = await posted.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, posted.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), posted.Headers.RetryAfter?.Delta);
        Assert.Contains("is paused: no worker could classify", body);
        var status = await host.Grains.GetGrain<IInstrumentRunGrain>("http-paused").GetStatus();
        Assert.Equal((0, 0), (status.Recorded, status.Failed));
    }

    [Fact]
    public async Task Ingest_retry_failed_removes_what_an_outage_failed_before_this_change_and_sends_it_again()
    {
        string data = Path.Combine(_work.Path, "data");
        string run = Path.Combine(_work.Path, "sample-old");
        WriteGoodImages(run, 40, 300);
        const string runId = "FC-OLD:sample-old";
        await using var host = await RunningHost.StartAsync(o => o.DataDirectory = data);
        await TestClusters.ActivateAsync(host.Grains, models.Directories);
        string[] arguments = ["ingest", run, "--lot", "LOT-OLD", "--instrument", "FC-OLD", "--um-per-pixel", "0.7", "--cluster", $"127.0.0.1:{host.GatewayPort}"];
        Assert.Equal(0, CliProcess.Run(_work.Path, host.ClientEnvironment, arguments).ExitCode);

        // The ledger as the old run grain left it after a worker outage: 15 particles failed "for good" with the outage's
        // cause, counted in the lot's tallies as such (a rebuild makes the tallies match those rows).
        var store = (SqlParticleStore)host.App.Services.GetService(typeof(IParticleStore))!;
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, "particles.db")}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                UPDATE particles SET failure = 'not classified after 3 worker failure(s): no worker silo was in the cluster for 30 s',
                    particle_type = NULL, probability = NULL, uncertain = 0, uncertain_reason = NULL, model_set_version = NULL, votes_json = '[]'
                WHERE run_id = '{runId}' AND particle_id IN (SELECT particle_id FROM particles WHERE run_id = '{runId}' ORDER BY particle_id LIMIT 15)
                """;
            Assert.Equal(15, await command.ExecuteNonQueryAsync());
        }
        await store.CheckAggregatesAsync(rewrite: true);
        Assert.Equal(15, (await store.CountRunAsync(runId)).Failed);

        var plain = CliProcess.Run(_work.Path, host.ClientEnvironment, arguments);          // without the flag nothing is sent: they are recorded
        Assert.Contains("(0 now, 40 already recorded before)", plain.Output);
        var repaired = CliProcess.Run(_work.Path, host.ClientEnvironment, [.. arguments, "--retry-failed"]);
        Assert.True(repaired.ExitCode == 0, repaired.ToString());
        Assert.Contains("15 particles recorded as failed by an outage were removed", repaired.Error);
        Assert.Contains("(15 now, 25 already recorded before)", repaired.Output);
        await AssertRecordedExactlyAsync(store, runId, 40);

        var again = CliProcess.Run(_work.Path, host.ClientEnvironment, [.. arguments, "--retry-failed"]);   // once: nothing left to repair
        Assert.Contains("no particle of the run was recorded as failed by an outage", again.Error);
        Assert.Contains("(0 now, 40 already recorded before)", again.Output);
    }

    [SkippableFact]
    public async Task PostgreSQL_cut_for_30_s_mid_run_pauses_the_run_and_it_resumes_with_nothing_lost_or_doubled()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        await using var database = await TemporaryPostgresDatabase.CreateAsync();
        var (proxy, throughProxy) = TcpProxy.InFrontOf(database.ConnectionString);
        await using var _ = proxy;
        // A cluster-mode host as a site runs one: mutual TLS with the site's CA, and the ingest client with a client
        // certificate of the site and an instrument token.
        using var site = new TestCertificateAuthority(_work.Path, "site");
        await using var host = await RunningHost.StartAsync(o =>
        {
            o.Mode = HostingMode.Cluster;
            o.PostgresConnectionString = throughProxy;
            o.AdvertisedIpAddress = "127.0.0.1";
            o.Worker.MaxBatchSize = 8;
            o.Tls = site.Silo("gateway-worker");
        });
        var client = new Dictionary<string, string>(host.ClientEnvironment);
        foreach (var (name, value) in TestCertificateAuthority.Variables(site.Client("ingest-pc"))) client[name] = value;
        await TestClusters.ActivateAsync(host.Grains, models.Directories);
        string run = Path.Combine(_work.Path, "sample-pg");
        WriteGoodImages(run, 480, 8000);
        const string runId = "FC-PG:sample-pg";

        using var ingest = new CliProcess(CliProcess.Program, client, _work.Path, "ingest", run, "--lot", "LOT-PG-OUT", "--instrument", "FC-PG", "--cluster", $"127.0.0.1:{host.GatewayPort}",
            "--retry-for", "2m");
        async Task<long> RecordedAsync() => await database.CountAsync($"SELECT COUNT(*) FROM particles WHERE run_id = '{runId}'");
        await WaitUntilAsync(async () => await RecordedAsync() > 0 || ingest.HasExited, TimeSpan.FromMinutes(3), "particles are recorded");

        proxy.Cut();
        long atCut = await RecordedAsync();
        await Task.Delay(TimeSpan.FromSeconds(30));
        long duringCut = await RecordedAsync();
        proxy.Restore();
        var result = ingest.WaitForExit(TimeSpan.FromMinutes(4));
        output.WriteLine(result.ToString());

        Assert.True(atCut < 480, $"the run had finished ({atCut}) before PostgreSQL was cut");
        Assert.Equal(atCut, duringCut);                                       // nothing recorded while the store was away
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Single(Regex.Matches(result.Error, "the site cannot record now"));   // the user was told it was waiting, once
        Assert.Contains("480 recorded for the run", result.Output);
        Assert.Equal(480, await database.CountAsync($"SELECT COUNT(DISTINCT particle_id) FROM particles WHERE run_id = '{runId}'"));
        using var store = SqlParticleStore.Postgres(database.ConnectionString);
        await AssertRecordedExactlyAsync(store, runId, 480);
    }

    [Fact]
    public async Task A_full_disk_under_the_embedded_store_pauses_the_run_with_a_clear_reason_and_it_resumes_when_space_returns()
    {
        using var disk = SmallDisk.Mount(Path.Combine(_work.Path, "small-disk"), megabytes: 400);
        string data = Path.Combine(disk.Path, "data");
        string run = Path.Combine(_work.Path, "sample-full");
        WriteGoodImages(run, 480, 9000);
        const string runId = "FC-FULL:sample-full";
        var client = await ClientEnvironmentAsync(data);
        var (host, gateway) = await StartHostProcessAsync(data);
        using (host)
        {
            using var store = SqlParticleStore.Sqlite(Path.Combine(data, "particles.db"));
            using var ingest = new CliProcess(CliProcess.Program, client, _work.Path, "ingest", run, "--lot", "LOT-FULL", "--instrument", "FC-FULL", "--cluster", $"127.0.0.1:{gateway}",
                "--retry-for", "3m");
            await WaitUntilAsync(async () => (await store.CountRunAsync(runId)).Recorded > 0 || ingest.HasExited, TimeSpan.FromMinutes(3), "particles are recorded");

            string filler = disk.Fill();
            await WaitUntilAsync(() => Task.FromResult(ingest.Error.Contains("disk is full", StringComparison.Ordinal) || ingest.HasExited), TimeSpan.FromMinutes(2),
                "ingest says the store's disk is full");
            int whileFull = (await store.CountRunAsync(runId)).Recorded;
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Equal(whileFull, (await store.CountRunAsync(runId)).Recorded);
            File.Delete(filler);

            var result = ingest.WaitForExit(TimeSpan.FromMinutes(4));
            output.WriteLine(result.ToString());
            Assert.True(whileFull < 480, $"the run had finished ({whileFull}) before the disk was full");
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("480 recorded for the run", result.Output);
            Assert.Equal(0, (await store.CountRunAsync(runId)).Failed);
            await AssertRecordedExactlyAsync(store, runId, 480);
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(data, "particles.db")}");
            await connection.OpenAsync();
            await using var check = connection.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", (string?)await check.ExecuteScalarAsync());
            host.Kill();
        }
    }

    [SkippableFact]
    public async Task GET_workers_lists_a_killed_worker_as_unreachable_instead_of_failing()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        await using var database = await TemporaryPostgresDatabase.CreateAsync();
        string clusterId = "outage-" + Guid.NewGuid().ToString("N")[..8];
        // Two silos of a site as it runs them: each with its own silo certificate of the site's CA (mutual TLS).
        using var site = new TestCertificateAuthority(_work.Path, "site");
        await using var gateway = await RunningHost.StartAsync(o =>
        {
            o.Mode = HostingMode.Cluster;
            o.PostgresConnectionString = database.ConnectionString;
            o.Roles = "gateway";
            o.ClusterId = clusterId;
            o.AdvertisedIpAddress = "127.0.0.1";
            o.Tls = site.Silo("gateway");
        });
        int[] ports = RunningHost.FreePorts(3);
        using var worker = CliProcess.WithEnvironment(new Dictionary<string, string>(TestCertificateAuthority.Variables(site.Silo("worker")))
        {
            ["PARTICLEGRID__CLUSTERID"] = clusterId,
            ["PARTICLEGRID__ADVERTISEDIPADDRESS"] = "127.0.0.1",
        }, _work.Path, "serve", "--mode", "Cluster", "--roles", "worker", "--postgres", database.ConnectionString, "--silo-port", $"{ports[0]}",
            "--gateway-port", $"{ports[1]}", "--urls", $"http://127.0.0.1:{ports[2]}", "--device", "cpu");
        var workerSilos = (Grains.Placement.WorkerSilos)gateway.App.Services.GetService(typeof(Grains.Placement.WorkerSilos))!;
        await WaitUntilAsync(() => Task.FromResult(workerSilos.Active().Count == 1 || worker.HasExited), TimeSpan.FromMinutes(2), "the worker joins");
        using (var live = JsonDocument.Parse(await gateway.Http.GetStringAsync("/workers")))
            Assert.True(live.RootElement[0].GetProperty("reachable").GetBoolean(), live.RootElement.ToString());

        worker.Kill();   // SIGKILL: membership still lists it as active until its missed probes are counted
        Assert.Single(workerSilos.Active());
        var clock = Stopwatch.StartNew();
        var response = await gateway.Http.GetAsync("/workers");
        string body = await response.Content.ReadAsStringAsync();
        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"GET /workers took {clock.Elapsed}");
        using var listed = JsonDocument.Parse(body);
        var dead = Assert.Single(listed.RootElement.EnumerateArray());
        Assert.False(dead.GetProperty("reachable").GetBoolean());
        // Either is the truth about a killed silo: its port refuses (Unable to connect), or, on a busy machine, the 3 s
        // the gateway gives each worker pass first.
        string problem = dead.GetProperty("problem").GetString()!;
        Assert.True(problem.Contains("Unable to connect") || problem.Contains("no answer within"), problem);
        Assert.DoesNotContain("\n", dead.GetProperty("problem").GetString());
    }

    [Fact]
    public async Task A_grain_state_write_that_fails_leaves_the_grain_as_it_was_so_the_retry_writes_it()
    {
        string data = Path.Combine(_work.Path, "data");
        var storage = new FailingOnceGrainStorage();
        void WithFlakyStorage(string name, ISiloBuilder silo) => silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Grains, (sp, _) =>
            storage.Over(new SqliteGrainStorage(Path.Combine(data, "grain-state.db"), new OrleansGrainStorageSerializer(sp.GetRequiredService<Orleans.Serialization.Serializer>()))));

        ModelSetInfo set;
        await using (var cluster = await TestClusters.StartAsync(data, ["gateway,worker"], perSilo: WithFlakyStorage))
        {
            var registry = cluster.Client.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
            storage.FailNextWrite();
            await Assert.ThrowsAnyAsync<Exception>(() => registry.Register(models.Directories));
            Assert.Empty(await registry.List());                 // the failed write left the registry as it was...
            set = await registry.Register(models.Directories);   // ...so the retry registers and writes it
            storage.FailNextWrite();
            await Assert.ThrowsAnyAsync<Exception>(() => registry.Activate(set.Version));
            Assert.Null(await registry.GetActive());
            await registry.Activate(set.Version);

            var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-flaky-state");
            await run.Start(new RunDescriptor("LOT-S", "FC-1", 0.5));
            storage.FailNextWrite();
            var paused = await Assert.ThrowsAsync<RunPausedException>(() => run.ReportRejections([new RejectedItem("a.png", "NotAnImage")]));
            Assert.Contains("could not be written", paused.Message);
            Assert.Equal(0, (await run.GetStatus()).Rejected);
            Assert.Equal(1, await run.ReportRejections([new RejectedItem("a.png", "NotAnImage")]));
        }

        // What the retries wrote is what a new activation reads.
        await using (var cluster = await TestClusters.StartAsync(data, ["gateway,worker"]))
        {
            var registry = cluster.Client.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
            Assert.Equal(set.Version, Assert.Single(await registry.List()).Version);
            Assert.Equal(set.Version, (await registry.GetActive())?.Version);
            Assert.Equal(1, (await cluster.Client.GetGrain<IInstrumentRunGrain>("run-flaky-state").GetStatus()).Rejected);
        }
    }

    public void Dispose() => _work.Dispose();
}

/// <summary>A grain storage that writes through to a real one, except the write after <see cref="FailNextWrite"/>, which fails as a full disk would.</summary>
internal sealed class FailingOnceGrainStorage
{
    private int _failNext;

    public void FailNextWrite() => Interlocked.Exchange(ref _failNext, 1);

    public IGrainStorage Over(IGrainStorage inner) => new Storage(this, inner);

    private sealed class Storage(FailingOnceGrainStorage owner, IGrainStorage inner) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            Interlocked.Exchange(ref owner._failNext, 0) == 1
                ? throw new IOException("No space left on device (injected once by the test)")
                : inner.WriteStateAsync(stateName, grainId, grainState);

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
    }
}

/// <summary>
/// A small filesystem of its own (tmpfs, mounted as root: CI runs as root), so a test can fill it as a real disk fills:
/// writes fail with ENOSPC and SQLite answers SQLITE_FULL. Unmounted at the end.
/// </summary>
internal sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    public static SmallDisk Mount(string path, int megabytes)
    {
        Directory.CreateDirectory(path);
        var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path]) { RedirectStandardError = true })!;
        string error = mount.StandardError.ReadToEnd();
        mount.WaitForExit();
        Assert.True(mount.ExitCode == 0, $"the disk-full test mounts a {megabytes} MB tmpfs, which needs root (CI runs as root): {error}");
        return new SmallDisk(path);
    }

    /// <summary>Writes a file until the disk is full, to the last byte; delete it to give the space back.</summary>
    public string Fill()
    {
        string filler = System.IO.Path.Combine(Path, "filler");
        using var file = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        foreach (int size in new[] { 1 << 20, 1 << 12, 1 })
        {
            var chunk = new byte[size];
            try { while (true) file.Write(chunk); }
            catch (IOException) { }
        }
        return filler;
    }

    public void Dispose()
    {
        using var umount = Process.Start(new ProcessStartInfo("umount", ["-l", Path]))!;
        umount.WaitForExit();
    }
}
