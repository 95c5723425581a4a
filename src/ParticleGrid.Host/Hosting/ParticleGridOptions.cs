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

    /// <summary>On the first start of a site, make an admin token and print it once (off for throw-away hosts such as the benchmark's).</summary>
    public bool CreateFirstAdminToken { get; set; } = true;

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
        _ = Worker.CreateVoter();
        Verdict.Validate();
        Gate.Validate();
    }
}
