using System.Net;
using System.Text.Json;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Host.Hosting;
using ParticleGrid.Storage;

namespace ParticleGrid.Cluster.Tests;

/// <summary>The host as users run it: `particlegrid serve` embedded, and silos of a cluster on PostgreSQL.</summary>
[Collection(TinyModelsCollection.Name)]
public sealed class HostTests(TinyModels models) : IDisposable
{
    private readonly TemporaryDirectory _data = new();

    [Fact]
    public async Task The_embedded_host_serves_lots_over_HTTP_and_keeps_every_lot_and_run_across_a_restart()
    {
        string profileBefore, runBefore, activeVersion;
        await using (var host = await RunningHost.StartAsync(o => o.DataDirectory = _data.Path))
        {
            Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/health/ready")).StatusCode);
            // The tiny models' out-of-scope thresholds rest on six validation images; a threshold nothing reaches keeps
            // this lot's verdict a matter of its sizes (the "unknown" rule has its own test in ClusterTests).
            activeVersion = (await TestClusters.ActivateAsync(host.Grains, models.WithOutOfScopeThreshold(1e12))).Version;
            await host.Grains.GetGrain<ILotGrain>("LOT-E").Describe(new LotDescriptor(2.0, "mAb-1 PFS"));
            var run = host.Grains.GetGrain<IInstrumentRunGrain>("run-e1");
            await run.Start(new RunDescriptor("LOT-E", "FC-8100-1", 0.3, 16));
            await SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 16, 3), batchSize: 8);
            await run.Complete();

            profileBefore = await host.Http.GetStringAsync("/lots/LOT-E");
            runBefore = await host.Http.GetStringAsync("/runs/run-e1");
            using var profile = JsonDocument.Parse(profileBefore);
            Assert.Equal(16, profile.RootElement.GetProperty("particles").GetInt32());
            Assert.Equal(2.0, profile.RootElement.GetProperty("containerVolumeMl").GetDouble());
            Assert.Equal(["bubble", "silicone_oil", "glass", "protein", "unknown", "unclassified"],
                profile.RootElement.GetProperty("types").EnumerateArray().Select(t => t.GetProperty("type").GetString()));
            Assert.Contains(profile.RootElement.GetProperty("verdict").GetProperty("outcome").GetString(), new[] { "Pass", "Fail" });

            var unknownLot = await host.Http.GetAsync("/lots/NO-SUCH-LOT");
            Assert.Equal(HttpStatusCode.NotFound, unknownLot.StatusCode);
            Assert.Contains("lot 'NO-SUCH-LOT' is not known", await unknownLot.Content.ReadAsStringAsync());
            var unknownRun = await host.Http.GetAsync("/runs/no-such-run");
            Assert.Equal(HttpStatusCode.NotFound, unknownRun.StatusCode);
            Assert.Contains("run 'no-such-run' is not known", await unknownRun.Content.ReadAsStringAsync());
        }

        await using (var host = await RunningHost.StartAsync(o => o.DataDirectory = _data.Path))
        {
            Assert.Equal(profileBefore, await host.Http.GetStringAsync("/lots/LOT-E"));
            Assert.Equal(runBefore, await host.Http.GetStringAsync("/runs/run-e1"));
            Assert.Contains("\"state\":\"Completed\"", runBefore);
            Assert.Equal(activeVersion, (await host.Grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).GetActive())!.Version);

            // The worker loaded and warmed the active set while starting, before it reported ready.
            using var workers = JsonDocument.Parse(await host.Http.GetStringAsync("/workers"));
            Assert.Equal(activeVersion, workers.RootElement[0].GetProperty("activeModelSet").GetString());
            Assert.Equal(0, workers.RootElement[0].GetProperty("classifiedParticles").GetInt64());

            // A replay after the restart is still recognised.
            var replay = await host.Grains.GetGrain<IInstrumentRunGrain>("run-e1").SubmitBatch("batch-0000", SimulatedInstrument.Particles("p", 8, 3));
            Assert.Equal(8, replay.AlreadyRecorded);
        }
    }

    [SkippableFact]
    public async Task Cluster_mode_runs_a_gateway_and_a_worker_as_separate_hosts_on_PostgreSQL()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        await using var database = await TemporaryPostgresDatabase.CreateAsync();
        using var site = new TestCertificateAuthority(_data.Path, "site");   // cluster mode needs mutual TLS
        void Cluster(ParticleGridOptions o, string roles)
        {
            o.Mode = HostingMode.Cluster;
            o.PostgresConnectionString = database.ConnectionString;
            o.Roles = roles;
            o.AdvertisedIpAddress = "127.0.0.1";
            o.Tls = site.Silo(roles);
        }
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..8];

        // The worker first: with no gateway to ask for the active model set it is up but not ready, and says why.
        await using var worker = await RunningHost.StartAsync(o => { Cluster(o, "worker"); o.ClusterId = clusterId; });
        var notReady = await worker.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("cannot load the active model set yet", await notReady.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await worker.Http.GetAsync("/health/startup")).StatusCode);   // started, not ready
        Assert.Equal(HttpStatusCode.OK, (await worker.Http.GetAsync("/health/live")).StatusCode);
        await using var gateway = await RunningHost.StartAsync(o => { Cluster(o, "gateway"); o.ClusterId = clusterId; });

        var workerSilos = (WorkerSilos)gateway.App.Services.GetService(typeof(WorkerSilos))!;
        for (int i = 0; i < 100 && workerSilos.Active().Count == 0; i++) await Task.Delay(200);
        Assert.Single(workerSilos.Active());

        // Activating while the worker's grain is first activated (it asks the registry for the active set) must not
        // deadlock the registry, which is waiting on that worker.
        await TestClusters.ActivateAsync(gateway.Grains, models.Directories);
        for (int i = 0; i < 100 && (await worker.Http.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK; i++) await Task.Delay(100);
        var ready = await worker.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        // A worker says what runs its networks; a gateway has none.
        using (var readyBody = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()))
        {
            Assert.Equal("onnxruntime", readyBody.RootElement.GetProperty("worker").GetProperty("engine").GetString());
            Assert.Equal("cpu", readyBody.RootElement.GetProperty("worker").GetProperty("device").GetString());
        }
        using (var gatewayReady = JsonDocument.Parse(await gateway.Http.GetStringAsync("/health/ready")))
            Assert.Equal(JsonValueKind.Null, gatewayReady.RootElement.GetProperty("worker").ValueKind);
        var run = gateway.Grains.GetGrain<IInstrumentRunGrain>("run-pg");
        await run.Start(new RunDescriptor("LOT-PG", "MFI-1", 0.5));
        await SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 16, 4), batchSize: 8);

        using var profile = JsonDocument.Parse(await gateway.Http.GetStringAsync("/lots/LOT-PG"));
        Assert.Equal(16, profile.RootElement.GetProperty("particles").GetInt32());
        Assert.Equal(16, await database.CountAsync("SELECT COUNT(*) FROM particles WHERE run_id = 'run-pg' AND failure IS NULL"));
        Assert.Equal(2, await database.CountAsync($"SELECT COUNT(*) FROM orleansmembershiptable WHERE deploymentid = '{clusterId}' AND status = 3"));
        Assert.True(await database.CountAsync("SELECT COUNT(*) FROM orleansstorage") >= 2, "the registry's and the run's state are in PostgreSQL");

        // The network ran on the worker host only.
        var workerInfo = await gateway.Grains.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(workerSilos.Active()[0])).GetInfo();
        Assert.Equal(16, workerInfo.ClassifiedParticles);
    }

    public void Dispose() => _data.Dispose();
}
