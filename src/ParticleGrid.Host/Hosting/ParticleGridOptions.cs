using ParticleGrid.Domain;
using ParticleGrid.Grains.Runs;
using ParticleGrid.Grains.Workers;
using ParticleGrid.Abstractions;

namespace ParticleGrid.Host.Hosting;

/// <summary>Embedded: one process, nothing installed. Cluster: many silos sharing PostgreSQL.</summary>
public enum HostingMode
{
    Embedded,
    Cluster,
}

/// <summary>
/// Everything a ParticleGrid silo is configured with: the "ParticleGrid" section of appsettings, overridden by
/// <c>PARTICLEGRID__*</c> environment variables (e.g. <c>PARTICLEGRID__MODE=Cluster</c>,
/// <c>PARTICLEGRID__ROLES=worker</c>, <c>PARTICLEGRID__WORKER__MAXBATCHSIZE=64</c>) and by command-line options.
/// </summary>
public sealed class ParticleGridOptions
{
    public const string Section = "ParticleGrid";

    public HostingMode Mode { get; set; } = HostingMode.Embedded;

    /// <summary>Where the embedded store, grain state and cached models live.</summary>
    public string DataDirectory { get; set; } = "particlegrid-data";

    /// <summary>"gateway" (runs, lots, HTTP), "worker" (the networks), or both (the embedded default).</summary>
    public string Roles { get; set; } = "gateway,worker";

    /// <summary>Cluster mode: the PostgreSQL that holds membership, grain state and the particle store.</summary>
    public string? PostgresConnectionString { get; set; }

    public string ClusterId { get; set; } = Abstractions.SiteDefaults.ClusterId;

    public string ServiceId { get; set; } = Abstractions.SiteDefaults.ServiceId;

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = Abstractions.SiteDefaults.GatewayPort;

    /// <summary>Cluster mode: the address other silos reach this one at (default: this host's first address).</summary>
    public string? AdvertisedIpAddress { get; set; }

    public WorkerOptions Worker { get; set; } = new();

    /// <summary>On the first start of a site, make an admin token and write it to <see cref="FirstAdminTokenPath"/> (off for throw-away hosts such as the benchmark's).</summary>
    public bool CreateFirstAdminToken { get; set; } = true;

    /// <summary>
    /// Where the first admin token is written, readable by this user only (ParticleGrid:FirstAdminTokenFile,
    /// PARTICLEGRID__FIRSTADMINTOKENFILE). Default: <c>first-admin-token</c> in the data directory.
    /// </summary>
    public string? FirstAdminTokenFile { get; set; }

    public string FirstAdminTokenPath => FirstAdminTokenFile ?? Path.Combine(DataDirectory, "first-admin-token");

    /// <summary>
    /// Orleans' Kubernetes hosting: the silo takes its name, address and cluster ids from the pod (POD_NAME, POD_IP,
    /// ORLEANS_CLUSTER_ID... through the downward API) and removes silos whose pods are gone. Null: on when the
    /// process runs in a Kubernetes pod (KUBERNETES_SERVICE_HOST and POD_NAME are set).
    /// </summary>
    public bool? KubernetesHosting { get; set; }

    public bool UsesKubernetesHosting => KubernetesHosting ?? (Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is not null
        && Environment.GetEnvironmentVariable("POD_NAME") is not null);

    /// <summary>
    /// Mutual TLS between silos and for clients (PARTICLEGRID__TLS__CERTIFICATEPATH, __CERTIFICATEPASSWORD,
    /// __CACERTIFICATEPATH or __TRUSTEDTHUMBPRINTS): required in cluster mode. The embedded host listens on loopback only.
    /// </summary>
    public TlsSettings Tls { get; set; } = new();

    public RunOptions Runs { get; set; } = new();

    /// <summary>What one HTTP request may ask of the host (ParticleGrid:Limits:*, PARTICLEGRID__LIMITS__*); see <see cref="RequestLimits"/>.</summary>
    public RequestLimits Limits { get; set; } = new();

    /// <summary>
    /// The port /metrics is served on, apart from the public HTTP port (ParticleGrid:MetricsPort,
    /// PARTICLEGRID__METRICSPORT, <c>--metrics-port</c>); it listens on the same address as the first HTTP URL. Metrics
    /// carry lot and instrument ids, so they are for Prometheus inside the site, not for whoever reaches the API: the
    /// chart and compose set 9464 and let only Prometheus reach it. Unset: /metrics is not served at all (several
    /// hosts on one machine would otherwise fight over one default port).
    /// </summary>
    public int? MetricsPort { get; set; }

    /// <summary>HTTPS for the HTTP API when a certificate is configured (ParticleGrid:Https:CertificatePath...).</summary>
    public HttpsSettings Https { get; set; } = new();

    /// <summary>How lots are judged (ParticleGrid:Verdict:MaxFailedShare, PARTICLEGRID__VERDICT__MAXFAILEDSHARE); docs/validation.md.</summary>
    public VerdictPolicy Verdict { get; set; } = new();

    /// <summary>
    /// When a new model set may go live (ParticleGrid:Gate:Margin, :RecallMargin, :MinReviewedPerClass,
    /// :MaxReviewedPerClass; PARTICLEGRID__GATE__MARGIN...); docs/validation.md.
    /// </summary>
    public ModelGatePolicy Gate { get; set; } = new();

    public bool IsWorker => RoleList.Contains(Grains.Placement.SiloRoles.Worker);

    public bool IsGateway => RoleList.Contains(Grains.Placement.SiloRoles.Gateway);

    public IReadOnlyList<string> RoleList => [.. Roles.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(r => r.ToLowerInvariant())];

    /// <summary>Says what is wrong with the configuration, so a silo refuses to start with one clear line.</summary>
    public void Validate()
    {
        var unknown = RoleList.Except([Grains.Placement.SiloRoles.Gateway, Grains.Placement.SiloRoles.Worker]).ToList();
        if (RoleList.Count == 0 || unknown.Count > 0)
            throw new ArgumentException($"roles '{Roles}': use 'gateway', 'worker' or 'gateway,worker'");
        if (Mode == HostingMode.Cluster && string.IsNullOrWhiteSpace(PostgresConnectionString))
            throw new ArgumentException("cluster mode needs a PostgreSQL connection string (ParticleGrid:PostgresConnectionString or PARTICLEGRID__POSTGRESCONNECTIONSTRING)");
        // A cluster's silo and gateway ports listen on the network: without mutual TLS anyone who reaches them joins
        // the cluster or calls grains. Insecure is for a developer's machine, and the silo says so at every start.
        if (Mode == HostingMode.Cluster && !Tls.Enabled && !Tls.Insecure)
            throw new ArgumentException("cluster mode needs mutual TLS: a certificate (ParticleGrid:Tls:CertificatePath, PARTICLEGRID__TLS__CERTIFICATEPATH) " +
                                        "and the site CA (PARTICLEGRID__TLS__CACERTIFICATEPATH) or trusted thumbprints; docs/security.md. " +
                                        "Only on a developer's machine: PARTICLEGRID__TLS__INSECURE=true");
        if (Mode == HostingMode.Embedded && string.IsNullOrWhiteSpace(DataDirectory))
            throw new ArgumentException("embedded mode needs a data directory");
        if (SiloPort is < 1 or > 65535 || GatewayPort is < 1 or > 65535)
            throw new ArgumentException($"silo port {SiloPort} and gateway port {GatewayPort} must be between 1 and 65535");
        if (AdvertisedIpAddress is not null && !System.Net.IPAddress.TryParse(AdvertisedIpAddress, out _))
            throw new ArgumentException($"advertised IP address '{AdvertisedIpAddress}' is not an IP address");
        Worker.Batching.Validate();
        if (Runs.ParticlesPerWorkerCall < 1 || Runs.ParticlesPerWorkerCall > Worker.QueueCapacity)
            throw new ArgumentException($"runs send {Runs.ParticlesPerWorkerCall} particles per worker call; it must be 1 to the worker queue capacity ({Worker.QueueCapacity})");
        if (Runs.OutageWait <= TimeSpan.Zero) throw new ArgumentException("runs need a positive wait through an outage (Runs:OutageWait)");
        if (Runs.MaxStoredRejections < 0) throw new ArgumentException("Runs:MaxStoredRejections must be 0 or more");
        if (MetricsPort is < 1 or > 65535) throw new ArgumentException($"metrics port {MetricsPort} must be between 1 and 65535");
        Limits.Validate();
        Https.Validate();
        _ = Worker.CreateVoter();
        Verdict.Validate();
        Gate.Validate();
    }
}

/// <summary>
/// Bounds on what one HTTP request can make the host hold or do, so that a broken or hostile client gets a clear 4xx
/// and costs the site a known amount of memory. The defaults fit instruments: `ingest --site` posts batches of 32
/// particles with 4 in flight, and particle images are tens to hundreds of pixels a side.
/// </summary>
public sealed class RequestLimits
{
    /// <summary>The largest body of any request but a particle batch (JSON of the admin, review and run routes): 1 MiB.</summary>
    public long MaxBodyBytes { get; set; } = 1L * 1024 * 1024;

    /// <summary>The largest particle batch body (base64 images in JSON): 64 MiB.</summary>
    public long MaxBatchBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The most particles one batch may carry: 1,000 (a batch over it is refused whole, with 413).</summary>
    public int MaxParticlesPerBatch { get; set; } = 1000;

    /// <summary>
    /// The most pixels one posted image may declare: 4,194,304 (2048 x 2048). Checked on the image's header before
    /// any pixel is decoded, so a small file that declares a huge image (a "decompression bomb") costs nothing.
    /// </summary>
    public long MaxPixelsPerImage { get; set; } = 2048L * 2048;

    /// <summary>The most batches of one run the gateway works on at once: 4 (`ingest --site` sends 4); beyond, 429 with Retry-After.</summary>
    public int MaxConcurrentBatchesPerRun { get; set; } = 4;

    /// <summary>The most batches one gateway works on at once, all runs together: 16; beyond, 503 with Retry-After.</summary>
    public int MaxBatchesInFlight { get; set; } = 16;

    /// <summary>
    /// The most bytes of batch bodies one gateway works on at once, each counted at its declared length (one without a
    /// Content-Length at <see cref="MaxBatchBytes"/>): 256 MiB; beyond, 503 with Retry-After. A body's parsed images take
    /// about three times its length (base64 text, then bytes), so this keeps a gateway's batches under about 800 MB
    /// where 16 bodies of 64 MiB would need about 3 GB. Instruments' batches (32 particles, a few hundred KB) never
    /// meet it.
    /// </summary>
    public long MaxBatchBytesInFlight { get; set; } = 256L * 1024 * 1024;

    public void Validate()
    {
        if (MaxBodyBytes < 1024) throw new ArgumentException($"Limits:MaxBodyBytes {MaxBodyBytes} must be at least 1024");
        if (MaxBatchBytes < MaxBodyBytes) throw new ArgumentException($"Limits:MaxBatchBytes {MaxBatchBytes} must be at least Limits:MaxBodyBytes ({MaxBodyBytes})");
        if (MaxParticlesPerBatch < 1) throw new ArgumentException("Limits:MaxParticlesPerBatch must be at least 1");
        if (MaxPixelsPerImage < 1) throw new ArgumentException("Limits:MaxPixelsPerImage must be at least 1");
        if (MaxBatchBytesInFlight < MaxBatchBytes) throw new ArgumentException($"Limits:MaxBatchBytesInFlight {MaxBatchBytesInFlight} must be at least Limits:MaxBatchBytes ({MaxBatchBytes})");
        if (MaxConcurrentBatchesPerRun < 1 || MaxBatchesInFlight < MaxConcurrentBatchesPerRun)
            throw new ArgumentException($"Limits:MaxConcurrentBatchesPerRun ({MaxConcurrentBatchesPerRun}) must be at least 1 and at most Limits:MaxBatchesInFlight ({MaxBatchesInFlight})");
    }
}

/// <summary>
/// The HTTP API's own certificate (PARTICLEGRID__HTTPS__CERTIFICATEPATH: a PFX, or a PEM certificate with
/// PARTICLEGRID__HTTPS__KEYPATH; __CERTIFICATEPASSWORD for an encrypted one). Set: every https:// URL the host
/// listens on serves it. Unset: plain HTTP, for a host behind a TLS-terminating ingress or on loopback.
/// </summary>
public sealed class HttpsSettings
{
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key, when <see cref="CertificatePath"/> is a PEM certificate.</summary>
    public string? KeyPath { get; set; }

    public string? CertificatePassword { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);

    public void Validate()
    {
        if (!Enabled) return;
        if (!File.Exists(CertificatePath)) throw new ArgumentException($"HTTPS certificate {CertificatePath} not found (ParticleGrid:Https:CertificatePath)");
        if (KeyPath is not null && !File.Exists(KeyPath)) throw new ArgumentException($"HTTPS key {KeyPath} not found (ParticleGrid:Https:KeyPath)");
    }

    /// <summary>The certificate with its private key; a clear error when it cannot be read.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 Load()
    {
        try
        {
            return KeyPath is not null
                ? (CertificatePassword is null
                    ? System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(CertificatePath!, KeyPath)
                    : System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromEncryptedPemFile(CertificatePath!, CertificatePassword, KeyPath))
                : System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(CertificatePath!, CertificatePassword);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"HTTPS certificate {CertificatePath} cannot be read (wrong password, or not a PFX / PEM with its key): {e.Message}", e);
        }
    }
}
