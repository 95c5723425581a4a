using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Orleans.Runtime.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Serialization;
using Orleans.Storage;
using ParticleGrid.Abstractions;
using ParticleGrid.Grains;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Grains.Workers;
using ParticleGrid.Host.Persistence;
using ParticleGrid.Storage;

namespace ParticleGrid.Host.Hosting;

/// <summary>
/// How every ParticleGrid silo is put together, whatever hosts it (the embedded host, a cluster node, a test
/// cluster): roles in silo metadata, the worker placement, the particle store, grain storage, and on workers the
/// ensemble and its warm-up.
/// </summary>
public static class ParticleGridSilo
{
    /// <param name="workerRuntime">
    /// The networks, for a silo with the worker role: the worker host's own (ParticleGrid.Serving's WorkerRuntime). A
    /// gateway-only host has none and loads neither TorchSharp nor ONNX Runtime.
    /// </param>
    /// <param name="configureClustering">False under a test cluster, which brings its own membership.</param>
    public static ISiloBuilder AddParticleGrid(this ISiloBuilder silo, ParticleGridOptions options, IWorkerRuntimeFactory? workerRuntime,
        bool configureClustering = true)
    {
        options.Validate();
        if (options.IsWorker && workerRuntime is null)
            throw new ArgumentException($"roles '{options.Roles}' include worker, but this host has no worker runtime (it runs no networks): " +
                                        "give it the gateway role only, and run workers with 'particlegrid serve'", nameof(options));
        var metadata = new Dictionary<string, string> { [SiloRoles.RolesKey] = string.Join(',', options.RoleList) };
        if (options.IsWorker) metadata[SiloRoles.DevicesKey] = workerRuntime!.DescribeDevice(options.Worker);
        silo.UseSiloMetadata(metadata);
        silo.AddPlacementDirector<WorkerSiloPlacement, WorkerSiloPlacementDirector>();
        silo.AddPlacementDirector<GatewaySiloPlacement, GatewaySiloPlacementDirector>();

        var services = silo.Services;
        services.AddParticleGridSerialization();
        services.AddSingleton(options);
        services.AddSingleton(options.Worker);
        services.AddSingleton(options.Runs);
        services.AddSingleton(options.Verdict);
        services.AddSingleton(options.Gate);
        services.AddSingleton<WorkerSilos>();
        // The one read path for lots (grain, QA API, CLI): see Storage/LotReads.cs.
        services.AddSingleton<LotReads>();
        services.AddSingleton<ParticleGridMetrics>();
        services.AddSingleton<SiloReadiness>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SiloStartup>();

        if (options.Mode == HostingMode.Embedded)
        {
            string data = Path.GetFullPath(options.DataDirectory);
            services.AddSingleton<IParticleStore>(_ => SqlParticleStore.Sqlite(Path.Combine(data, "particles.db"), options.Verdict));
            // The same store streams exports and keyset pages; the container disposes it more than once, which it takes.
            services.AddSingleton<IParticleExportSource>(sp => (SqlParticleStore)sp.GetRequiredService<IParticleStore>());
            services.AddSingleton<IParticlePages>(sp => (SqlParticleStore)sp.GetRequiredService<IParticleStore>());
            services.AddGrainStorage(StorageNames.Grains, (sp, _) =>
                new SqliteGrainStorage(Path.Combine(data, "grain-state.db"), new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>())));
            if (configureClustering)
            {
                // One silo on loopback; its durable state is in the data directory, so membership needs no store.
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
            }
        }
        else
        {
            string connection = options.PostgresConnectionString!;
            services.AddSingleton<IParticleStore>(_ => SqlParticleStore.Postgres(connection, options.Verdict));
            services.AddSingleton<IParticleExportSource>(sp => (SqlParticleStore)sp.GetRequiredService<IParticleStore>());
            services.AddSingleton<IParticlePages>(sp => (SqlParticleStore)sp.GetRequiredService<IParticleStore>());
            silo.AddAdoNetGrainStorage(StorageNames.Grains, o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connection;
            });
            services.AddOptions<AdoNetGrainStorageOptions>(StorageNames.Grains).Configure<IServiceProvider>((o, sp) =>
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>()));
            if (configureClustering)
            {
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = connection;
                });
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = options.ClusterId;
                    o.ServiceId = options.ServiceId;
                });
                if (options.AdvertisedIpAddress is { } ip)
                    silo.ConfigureEndpoints(IPAddress.Parse(ip), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
                else
                    silo.ConfigureEndpoints(options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
                // In a pod: name, address and ids from the downward API, and dead pods' silos removed promptly
                // (the chart gives the pod labels, environment and RBAC this needs). Membership stays on PostgreSQL.
                if (options.UsesKubernetesHosting) silo.UseKubernetesHosting();
            }
        }

        if (options.IsWorker) workerRuntime!.AddTo(services);
        // Calls from Orleans clients (ingest --cluster) are checked against their token, as HTTP requests are.
        services.TryAddSingleton<Auth.TokenLookup>();
        silo.AddIncomingGrainCallFilter<ClientCallAuthorization>();
        if (configureClustering && options.Tls.Enabled) UseSiteTls(silo, SiteCertificate.Load(options.Tls, PeerRole.Silo));
        // After TLS (its middleware is added first, so it reads the plain messages): a client connection may send only as a
        // client, which is what lets ClientCallAuthorization tell a client's call from a silo's by its sender.
        silo.Configure<SiloConnectionOptions>(connections => connections.ConfigureGatewayInboundConnection(connection => connection.UseGatewaySenderCheck()));
        return silo;
    }

    /// <summary>
    /// Mutual TLS on every connection, with the peer each one must have: the silo port and this silo's connections to
    /// others admit silo certificates only; the gateway port admits client certificates of the site. (Orleans' own
    /// UseTls gives all three one rule, which would let an instrument PC's certificate open the silo port.)
    /// </summary>
    private static void UseSiteTls(ISiloBuilder silo, SiteCertificate site)
    {
        silo.Configure<SiloConnectionOptions>(connections =>
        {
            connections.ConfigureSiloInboundConnection(connection => connection.UseServerTls(Rule(connection, PeerRole.Silo, "silo port")));
            connections.ConfigureSiloOutboundConnection(connection => connection.UseClientTls(Rule(connection, PeerRole.Silo, "connection to another silo")));
            connections.ConfigureGatewayInboundConnection(connection => connection.UseServerTls(Rule(connection, PeerRole.Client, "gateway port")));
        });

        TlsOptions Rule(Microsoft.AspNetCore.Connections.IConnectionBuilder connection, PeerRole peer, string where)
        {
            var logger = connection.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("ParticleGrid.Tls");
            var tls = new TlsOptions();
            site.Configure(tls, peer, refusal => logger.LogWarning("TLS peer refused on the {Where}: {Refusal}", where, refusal));
            return tls;
        }
    }

}

/// <summary>Whether the silo may report ready: it is active and, on a worker, the model set is loaded and warmed.</summary>
public sealed class SiloReadiness
{
    private volatile string? _notReady = "starting";
    private volatile bool _started;

    public bool IsReady => _notReady is null;

    /// <summary>The silo has joined the cluster (a worker may still be loading its networks).</summary>
    public bool HasStarted => _started;

    public string Reason => _notReady ?? "ready";

    /// <summary>Records why the silo is not ready (null: it is); called once the silo is active, so it has started.</summary>
    internal void Set(string? notReadyReason)
    {
        _notReady = notReadyReason;
        _started = true;
    }
}

/// <summary>
/// Creates the store's tables before grains run; on workers, activates the local worker grain once the silo is
/// active, which loads and warms the site's active model set, and only then reports ready.
/// </summary>
internal sealed class SiloStartup(
    IParticleStore store,
    ParticleGridOptions options,
    IServiceProvider services,
    SiloReadiness readiness,
    ILogger<SiloStartup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();

    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe(nameof(SiloStartup) + ".Store", ServiceLifecycleStage.RuntimeInitialize, cancellation => store.EnsureCreatedAsync(cancellation));
        lifecycle.Subscribe(nameof(SiloStartup) + ".WarmUp", ServiceLifecycleStage.Active, WarmUpAsync, StopAsync);
    }

    private async Task WarmUpAsync(CancellationToken cancellation)
    {
        if (options.Mode == HostingMode.Cluster && !options.Tls.Enabled)
            logger.LogCritical("INSECURE CLUSTER: TLS is off (ParticleGrid:Tls:Insecure). Anyone who can reach silo port {SiloPort} can join this cluster " +
                               "and read or change its data; use this only on a developer's machine (docs/security.md)", options.SiloPort);
        if (!options.IsWorker)
        {
            readiness.Set(null);
            return;
        }
        readiness.Set("loading the active model set");
        if (!await TryWarmUpAsync(logFailure: false))
        {
            // No gateway is up yet to ask for the active set (a worker may start first): keep trying in the
            // background and stay "not ready" until the set is loaded.
            _ = Task.Run(async () =>
            {
                while (!_stopping.IsCancellationRequested && !await TryWarmUpAsync(logFailure: true))
                {
                    try { await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token); } catch (OperationCanceledException) { }
                }
            });
        }
    }

    private async Task<bool> TryWarmUpAsync(bool logFailure)
    {
        try
        {
            var silo = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
            var grains = services.GetRequiredService<IGrainFactory>();
            var info = await grains.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(silo)).GetInfo();
            logger.LogInformation("Worker {Silo}: {Engine} on {Device}, model set {Set}", info.Silo, info.Engine, info.Device, info.ActiveModelSet ?? "none active yet");
            readiness.Set(null);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // /health/ready shows the reason to anyone (it is anonymous), so the exception's text, which can name paths
            // and hosts, goes to the log only (the retries below log it every second).
            readiness.Set("cannot load the active model set yet (the host's log says why)");
            if (logFailure) logger.LogWarning("Worker warm-up: {Reason}; retrying", e.Message);
            return false;
        }
    }

    /// <summary>First thing when the silo stops: a worker drains its queue while it is still in the cluster.</summary>
    private async Task StopAsync(CancellationToken cancellation)
    {
        _stopping.Cancel();
        readiness.Set("stopping");
        if (options.IsWorker && services.GetService<IWorkerRuntime>() is { } ensemble)
        {
            await ensemble.DrainAsync(TimeSpan.FromSeconds(30));
        }
    }
}
