using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using ParticleGrid.Abstractions;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>
/// Real Orleans clusters in the test process. Each silo gets its roles from <c>roles[index]</c> (silos started later
/// are workers); all share one data directory, as silos of one site share one store.
/// </summary>
public static class TestClusters
{
    public static async Task<InProcessTestCluster> StartAsync(
        string dataDirectory, string[] roles, Action<ParticleGridOptions>? configure = null, Action<string, ISiloBuilder>? perSilo = null)
    {
        var builder = new InProcessTestClusterBuilder((short)roles.Length);
        builder.Options.GatewayPerSilo = false;
        builder.ConfigureSilo((siloOptions, silo) =>
        {
            int index = int.Parse(siloOptions.SiloName.Split('_')[1]);
            var options = new ParticleGridOptions
            {
                DataDirectory = dataDirectory,
                Roles = index < roles.Length ? roles[index] : "worker",
                Worker = { Device = "cpu", MaxBatchSize = 8, MaxQueueDelayMs = 10 },
                Runs = { ParticlesPerWorkerCall = 8, OutageWait = TimeSpan.FromSeconds(10) },
            };
            configure?.Invoke(options);
            silo.AddParticleGrid(options, new ParticleGrid.Serving.WorkerRuntime(), configureClustering: false);
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
            });
            perSilo?.Invoke(siloOptions.SiloName, silo);
        });
        // The test's client is an Orleans client like any other: it presents an admin token, made in the site's store
        // before the silos start (they share the data directory's store).
        string token = await AdminTokenAsync(dataDirectory);
        builder.ConfigureClient(client =>
        {
            client.Services.AddParticleGridSerialization();
            client.AddOutgoingGrainCallFilter(context =>
            {
                RequestContext.Set(SiteCredentials.TokenKey, token);
                return context.Invoke();
            });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static async Task<string> AdminTokenAsync(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        using var store = ParticleGrid.Storage.SqlParticleStore.Sqlite(Path.Combine(Path.GetFullPath(dataDirectory), "particles.db"));
        await store.EnsureCreatedAsync();
        return (await ParticleGrid.Host.Auth.AccessTokens.CreateAsync(store, "admin", "test cluster client")).Token;
    }

    /// <summary>Registers the models as a set and activates it on every worker.</summary>
    public static async Task<ModelSetInfo> ActivateAsync(IGrainFactory grains, IReadOnlyList<string> directories)
    {
        var registry = grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
        var set = await registry.Register(directories);
        return await registry.Activate(set.Version);
    }
}

/// <summary>A folder that is deleted at the end of a test.</summary>
public sealed class TemporaryDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"pg-test-{Guid.NewGuid():N}");

    public TemporaryDirectory() => Directory.CreateDirectory(Path);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
