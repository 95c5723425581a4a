using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Host.Hosting;
using ParticleGrid.Ingestion;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// Cluster mode's doors (docs/security.md): mutual TLS with the site's own CA on the silo and gateway ports, a silo port
/// that admits silo certificates only, and Orleans clients whose every call needs a token with the right role. Real
/// silos on PostgreSQL, real TLS handshakes, real Orleans clients; the CAs are made here.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class TlsTests(TinyModels models) : IDisposable
{
    private readonly TemporaryDirectory _folder = new();

    [SkippableFact]
    public async Task Silos_with_site_certificates_form_a_cluster_over_TLS_and_only_site_certificates_get_in()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        using var site = new TestCertificateAuthority(_folder.Path, "site");
        using var foreign = new TestCertificateAuthority(_folder.Path, "foreign");
        await using var cluster = await SiteCluster.StartAsync(site);

        // gateway -> worker -> gateway, all over TLS with the site's silo certificates.
        await TestClusters.ActivateAsync(cluster.Gateway.Grains, models.Directories);
        var run = cluster.Gateway.Grains.GetGrain<IInstrumentRunGrain>("run-tls");
        await run.Start(new RunDescriptor("LOT-TLS", "FC-1", 0.5));
        await SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 8, 5), batchSize: 8);
        Assert.Equal(8, (await run.GetStatus()).Classified);

        // The silo port: a silo of the site is answered (its preamble); a foreign silo, a certificate chaining to no
        // site CA, and the site's own *client* certificate (an instrument PC's) are hung up on.
        int siloPort = cluster.Gateway.App.Services.GetService(typeof(ParticleGridOptions)) is ParticleGridOptions o ? o.SiloPort : 0;
        Assert.Equal(Door.Open, await KnockAsync(siloPort, site.Silo("another-silo")));
        Assert.Equal(Door.Closed, await KnockAsync(siloPort, foreign.Silo("foreign-silo")));
        Assert.Equal(Door.Closed, await KnockAsync(siloPort, site.Client("instrument-pc")));
        Assert.Equal(Door.Closed, await KnockAsync(siloPort, site.Settings(site.Issue("no-usage"))));
        // The gateway port: the site's client certificates get in; a foreign CA's do not.
        Assert.Equal(Door.Open, await KnockAsync(cluster.Gateway.GatewayPort, site.Client("instrument-pc")));
        Assert.Equal(Door.Closed, await KnockAsync(cluster.Gateway.GatewayPort, foreign.Client("foreign-pc")));

        // A real Orleans client with a foreign certificate cannot connect, and is told so in one line; the same client
        // with the site's certificate can.
        string admin = cluster.Gateway.AdminToken!;
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(cluster, new ClientCredentials(admin, foreign.Client("foreign-pc"))));
        Assert.Contains("cannot connect", refused.Message);
        await using (var welcome = await ConnectAsync(cluster, new ClientCredentials(admin, site.Client("site-pc"))))
            Assert.Equal(8, (await welcome.Grains.GetGrain<IInstrumentRunGrain>("run-tls").GetStatus()).Classified);

        // A silo configured with a foreign CA's certificate cannot join: the site's silos hang up on it, so it never
        // hears from the cluster's silos and gives up (or is stopped here), and the gateway still has its one worker.
        var intruderFailure = await StartIntruderAsync(cluster, foreign);
        Assert.NotNull(intruderFailure);
        var workers = (WorkerSilos)cluster.Gateway.App.Services.GetService(typeof(WorkerSilos))!;
        Assert.Single(workers.Active());
    }

    [SkippableFact]
    public async Task Orleans_clients_need_a_token_whose_role_allows_each_call()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        using var site = new TestCertificateAuthority(_folder.Path, "site");
        await using var cluster = await SiteCluster.StartAsync(site);
        await TestClusters.ActivateAsync(cluster.Gateway.Grains, models.Directories);
        var store = (ParticleGrid.Storage.IParticleStore)cluster.Gateway.App.Services.GetService(typeof(ParticleGrid.Storage.IParticleStore))!;
        string instrument = (await ParticleGrid.Host.Auth.AccessTokens.CreateAsync(store, "instrument", "FC-9 pc")).Token;
        var certificate = site.Client("instrument-pc");

        // No token: every call is refused, reads included, and nothing is started.
        await using (var anonymous = await ConnectAsync(cluster, new ClientCredentials(null, certificate)))
        {
            var run = anonymous.Grains.GetGrain<IInstrumentRunGrain>("FC-9:anonymous");
            var noToken = await Assert.ThrowsAnyAsync<Exception>(() => run.Start(new RunDescriptor("LOT-ANON", "FC-9", 0.5)));
            Assert.Contains("must present a token", noToken.Message);
            await Assert.ThrowsAnyAsync<Exception>(() => run.GetStatus());
            await Assert.ThrowsAnyAsync<Exception>(() => anonymous.Grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).List());
        }
        Assert.Equal(RunState.Unknown, (await cluster.Gateway.Grains.GetGrain<IInstrumentRunGrain>("FC-9:anonymous").GetStatus()).State);

        // A token that is not the site's: refused.
        await using (var forged = await ConnectAsync(cluster, new ClientCredentials("pgt_not-a-real-token", certificate)))
        {
            var invalid = await Assert.ThrowsAnyAsync<Exception>(() =>
                forged.Grains.GetGrain<IInstrumentRunGrain>("FC-9:forged").Start(new RunDescriptor("LOT-ANON", "FC-9", 0.5)));
            Assert.Contains("token is not valid", invalid.Message);
        }

        // An instrument token: sends a run (as ingest --cluster does), but may not register model sets or read lots.
        await using (var pc = await ConnectAsync(cluster, new ClientCredentials(instrument, certificate)))
        {
            var target = pc.Run("FC-9:s1");
            await target.Start(new RunDescriptor("LOT-PC", "FC-9", 0.5), containerVolumeMl: 1);
            var receipt = await target.SubmitBatch("batch-0", SimulatedInstrument.Particles("q", 6, 7));
            Assert.Equal((6, 0), (receipt.Appended, receipt.Failed));
            Assert.Equal(6, (await target.Complete()).Classified);

            var register = await Assert.ThrowsAnyAsync<Exception>(() =>
                pc.Grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).Register(models.Directories));
            Assert.Contains("role (instrument) may not do this", register.Message);
            await Assert.ThrowsAnyAsync<Exception>(() => pc.Grains.GetGrain<ILotGrain>("LOT-PC").GetProfile());
        }
        Assert.Single(await cluster.Gateway.Grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).List());

        // An admin token may administer.
        await using (var operations = await ConnectAsync(cluster, new ClientCredentials(cluster.Gateway.AdminToken, certificate)))
            Assert.Single(await operations.Grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).List());
    }

    /// <summary>
    /// Whether a call is a client's is decided by the connection it came on: a holder of the site's client certificate who
    /// rewrites the sender in its messages (to a silo's own in-process client, which carries no token, or to a grain) is
    /// hung up on at the gateway, and nothing it sent is done. The same client without the rewrite meets the token check.
    /// </summary>
    [SkippableTheory]
    [InlineData("a silo's own client")]
    [InlineData("a grain")]
    public async Task A_client_that_names_another_sender_in_its_messages_is_hung_up_on(string posingAs)
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        using var site = new TestCertificateAuthority(_folder.Path, "site");
        await using var cluster = await SiteCluster.StartAsync(site);
        int siloPort = ((ParticleGridOptions)cluster.Gateway.App.Services.GetService(typeof(ParticleGridOptions))!).SiloPort;
        var sender = posingAs == "a grain"
            ? GrainId.Create("lot", "LOT-ANY")
            : GrainId.Create("sys.client", $"hosted-S127.0.0.1:{siloPort}:1");

        await using var client = await ForgingClient.ConnectAsync(cluster.Gateway.GatewayPort, cluster.ClusterId, site.Client("rewritten-pc"));
        // Honest first: the connection works, and a call with no token is refused by the token check.
        var honest = await Assert.ThrowsAnyAsync<Exception>(() =>
            client.Grains.GetGrain<IInstrumentRunGrain>("FC-7:honest").Start(new RunDescriptor("LOT-FORGED", "FC-7", 0.5)));
        Assert.Contains("must present a token", honest.Message);

        // Posing as another sender, with no token: before the gateway read senders, this call ran as the silo's own.
        client.ForgeAs = sender;
        await Assert.ThrowsAnyAsync<Exception>(() =>
            client.Grains.GetGrain<IInstrumentRunGrain>("FC-7:forged").Start(new RunDescriptor("LOT-FORGED", "FC-7", 0.5)));
        await Assert.ThrowsAnyAsync<Exception>(() => client.Grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).Register(models.Directories));

        Assert.Equal(RunState.Unknown, (await cluster.Gateway.Grains.GetGrain<IInstrumentRunGrain>("FC-7:forged").GetStatus()).State);
        Assert.Empty(await cluster.Gateway.Grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).List());
    }

    [Fact]
    public void Missing_or_unreadable_certificates_and_nothing_to_trust_stop_the_silo_with_one_clear_line()
    {
        using var site = new TestCertificateAuthority(_folder.Path, "site");
        var missing = Assert.Throws<ArgumentException>(() => SiteCertificate.Load(new TlsSettings { CertificatePath = Path.Combine(_folder.Path, "none.pfx") }, PeerRole.Silo));
        Assert.Contains("not found", missing.Message);
        string junk = Path.Combine(_folder.Path, "junk.pfx");
        File.WriteAllText(junk, "not a certificate");
        var unreadable = Assert.Throws<ArgumentException>(() => SiteCertificate.Load(new TlsSettings { CertificatePath = junk, CertificatePassword = "x" }, PeerRole.Silo));
        Assert.Contains("cannot be read", unreadable.Message);

        var silo = site.Silo("silo");
        var trustingNothing = Assert.Throws<ArgumentException>(() => SiteCertificate.Load(new TlsSettings { CertificatePath = silo.CertificatePath, CertificatePassword = silo.CertificatePassword }, PeerRole.Silo));
        Assert.Contains("needs what to trust", trustingNothing.Message);
        // A silo given a client's certificate would be refused by every other silo: it says so at start.
        var client = site.Client("pc");
        var wrongRole = Assert.Throws<ArgumentException>(() => SiteCertificate.Load(client, PeerRole.Silo));
        Assert.Contains("would be refused", wrongRole.Message);
    }

    [Fact]
    public void Trust_is_the_site_CA_or_a_pinned_thumbprint_never_a_public_root()
    {
        using var site = new TestCertificateAuthority(_folder.Path, "site");
        using var foreign = new TestCertificateAuthority(_folder.Path, "foreign");
        var trust = SiteCertificate.Load(site.Silo("silo"), PeerRole.Silo);
        using var siteClient = TestCertificateAuthority.Load(site.Client("pc").CertificatePath!);
        using var foreignClient = TestCertificateAuthority.Load(foreign.Client("pc").CertificatePath!);
        Assert.Null(trust.Refusal(siteClient, PeerRole.Client));
        Assert.Contains("not a site certificate", trust.Refusal(foreignClient, PeerRole.Client));
        Assert.Contains("not a site certificate", trust.Refusal(siteClient, PeerRole.Silo));   // a client's certificate is no silo's
        Assert.Equal("no certificate was presented", trust.Refusal(null, PeerRole.Client));

        // Pinned by SHA-256 thumbprint instead: exactly that certificate, with the usage of its role.
        var pinnedSettings = site.Silo("pinned-silo");
        using var pinnedSilo = TestCertificateAuthority.Load(pinnedSettings.CertificatePath!);
        var pinning = SiteCertificate.Load(new TlsSettings
        {
            CertificatePath = pinnedSettings.CertificatePath,
            CertificatePassword = pinnedSettings.CertificatePassword,
            TrustedThumbprints = pinnedSilo.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256).ToLowerInvariant(),
        }, PeerRole.Silo);
        Assert.Null(pinning.Refusal(pinnedSilo, PeerRole.Silo));
        Assert.Contains("thumbprint is not one the site trusts", pinning.Refusal(siteClient, PeerRole.Client));
    }

    public void Dispose() => _folder.Dispose();

    private enum Door { Open, Closed }

    /// <summary>
    /// Opens a TLS connection with this certificate and says whether the silo kept it (it answered, or waited for us to
    /// speak) or hung up (the handshake failed, or the connection was closed right after it).
    /// </summary>
    private static async Task<Door> KnockAsync(int port, TlsSettings certificate)
    {
        using var local = TestCertificateAuthority.Load(certificate.CertificatePath!);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var ssl = new SslStream(tcp.GetStream());
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "particlegrid",
                ClientCertificates = [local],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            // TLS 1.3 completes the client's side before the server has judged its certificate: read to find out.
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            int read = await ssl.ReadAsync(new byte[64], wait.Token);
            return read > 0 ? Door.Open : Door.Closed;
        }
        catch (OperationCanceledException)
        {
            return Door.Open;   // still connected, waiting for this side's preamble
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return Door.Closed;
        }
    }

    private static Task<ClusterConnection> ConnectAsync(SiteCluster cluster, ClientCredentials credentials) =>
        ClusterConnection.OpenAsync($"127.0.0.1:{cluster.Gateway.GatewayPort}", _ => throw new InvalidOperationException("unreachable"),
            CancellationToken.None, credentials with { ClusterId = cluster.ClusterId });

    /// <summary>
    /// Starts a worker silo of the same cluster id and database, but with a foreign CA's certificate and trust, and gives
    /// it 20 s to join; returns why it did not start (null: it started, which it must not).
    /// </summary>
    private static async Task<Exception?> StartIntruderAsync(SiteCluster cluster, TestCertificateAuthority foreign)
    {
        int[] ports = RunningHost.FreePorts(3);
        var app = await ParticleGridHost.BuildAsync([], o =>
        {
            o.SiloPort = ports[0];
            o.GatewayPort = ports[1];
            o.Worker.Device = "cpu";
            cluster.Configure(o, "worker", foreign.Silo("intruder"));
        }, $"http://127.0.0.1:{ports[2]}", builder => builder.Logging.SetMinimumLevel(LogLevel.Warning), new ParticleGrid.Serving.WorkerRuntime());
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var failure = await Record.ExceptionAsync(() => app.StartAsync(patience.Token));
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(30))) await Record.ExceptionAsync(() => app.StopAsync(stopping.Token));
        await app.DisposeAsync();
        return failure;
    }

    /// <summary>A gateway and a worker on a fresh PostgreSQL database, each with its own silo certificate of the site.</summary>
    private sealed class SiteCluster : IAsyncDisposable
    {
        private readonly TemporaryPostgresDatabase _database;
        public string ClusterId { get; } = "tls-" + Guid.NewGuid().ToString("N")[..8];

        private SiteCluster(TemporaryPostgresDatabase database) => _database = database;

        public RunningHost Gateway { get; private set; } = null!;

        public RunningHost Worker { get; private set; } = null!;

        public void Configure(ParticleGridOptions o, string roles, TlsSettings tls)
        {
            o.Mode = HostingMode.Cluster;
            o.PostgresConnectionString = _database.ConnectionString;
            o.Roles = roles;
            o.ClusterId = ClusterId;
            o.AdvertisedIpAddress = "127.0.0.1";
            o.Tls = tls;
        }

        public static async Task<SiteCluster> StartAsync(TestCertificateAuthority site)
        {
            var cluster = new SiteCluster(await TemporaryPostgresDatabase.CreateAsync());
            cluster.Gateway = await RunningHost.StartAsync(o => cluster.Configure(o, "gateway", site.Silo("gateway")));
            cluster.Worker = await RunningHost.StartAsync(o => cluster.Configure(o, "worker", site.Silo("worker")));
            var workers = (WorkerSilos)cluster.Gateway.App.Services.GetService(typeof(WorkerSilos))!;
            for (int i = 0; i < 100 && workers.Active().Count == 0; i++) await Task.Delay(200);
            Assert.Single(workers.Active());
            return cluster;
        }

        public async ValueTask DisposeAsync()
        {
            if (Worker is not null) await Worker.DisposeAsync();
            if (Gateway is not null) await Gateway.DisposeAsync();
            await _database.DisposeAsync();
        }
    }
}
