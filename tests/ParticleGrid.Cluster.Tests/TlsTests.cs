using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Cluster.Tests;

/// <summary>TLS between silos and on the gateway port, switched on by configuration (a site PFX), in cluster mode.</summary>
[Collection(TinyModelsCollection.Name)]
public sealed class TlsTests(TinyModels models) : IDisposable
{
    private readonly TemporaryDirectory _folder = new();

    [SkippableFact]
    public async Task Silos_with_the_site_certificate_form_a_cluster_over_TLS_and_classify()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        string pfx = Path.Combine(_folder.Path, "site.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=particlegrid-site", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            File.WriteAllBytes(pfx, created.Export(X509ContentType.Pfx, "site-secret"));
        }

        await using var database = await TemporaryPostgresDatabase.CreateAsync();
        string clusterId = "tls-" + Guid.NewGuid().ToString("N")[..8];
        void Configure(ParticleGridOptions o, string roles)
        {
            o.Mode = HostingMode.Cluster;
            o.PostgresConnectionString = database.ConnectionString;
            o.Roles = roles;
            o.ClusterId = clusterId;
            o.AdvertisedIpAddress = "127.0.0.1";
            o.Tls = new TlsSettings { CertificatePath = pfx, CertificatePassword = "site-secret" };
        }
        await using var gateway = await RunningHost.StartAsync(o => Configure(o, "gateway"));
        await using var worker = await RunningHost.StartAsync(o => Configure(o, "worker"));

        var workers = (WorkerSilos)gateway.App.Services.GetService(typeof(WorkerSilos))!;
        for (int i = 0; i < 100 && workers.Active().Count == 0; i++) await Task.Delay(200);
        Assert.Single(workers.Active());
        await TestClusters.ActivateAsync(gateway.Grains, models.Directories);
        var run = gateway.Grains.GetGrain<IInstrumentRunGrain>("run-tls");
        await run.Start(new RunDescriptor("LOT-TLS", "FC-1", 0.5));
        await SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 8, 5), batchSize: 8);
        Assert.Equal(8, (await run.GetStatus()).Classified);   // gateway -> worker -> gateway, all over TLS

        // The gateway port speaks TLS and presents the site certificate.
        using var site = X509CertificateLoader.LoadPkcs12FromFile(pfx, "site-secret");
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", gateway.GatewayPort);
        using var ssl = new SslStream(tcp.GetStream());
        X509Certificate? presented = null;
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "particlegrid-site",
            ClientCertificates = [site],
            RemoteCertificateValidationCallback = (_, certificate, _, _) => { presented = certificate; return true; },
        });
        Assert.Equal(site.Thumbprint, new X509Certificate2(presented!).Thumbprint);
    }

    [Fact]
    public void A_missing_or_unreadable_certificate_stops_the_silo_with_one_clear_line()
    {
        var missing = Assert.Throws<ArgumentException>(() => SiteCertificate.Load(new TlsSettings { CertificatePath = Path.Combine(_folder.Path, "none.pfx") }));
        Assert.Contains("not found", missing.Message);
        string junk = Path.Combine(_folder.Path, "junk.pfx");
        File.WriteAllText(junk, "not a certificate");
        var unreadable = Assert.Throws<ArgumentException>(() => SiteCertificate.Load(new TlsSettings { CertificatePath = junk, CertificatePassword = "x" }));
        Assert.Contains("cannot be read", unreadable.Message);
    }

    public void Dispose() => _folder.Dispose();
}
