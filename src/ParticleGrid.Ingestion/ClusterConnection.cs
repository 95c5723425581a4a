using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using ParticleGrid.Abstractions;

namespace ParticleGrid.Ingestion;

/// <summary>
/// Where an ingest sends runs: a cluster's gateways (as an Orleans client), the site already running on this machine,
/// or, in the CLI only, an embedded host it started in this process (<see cref="ClusterConnection(IHost, IGrainFactory, string)"/>).
/// </summary>
public sealed class ClusterConnection : ISiteConnection
{
    private readonly IHost _host;

    /// <param name="host">Stopped and disposed with the connection.</param>
    public ClusterConnection(IHost host, IGrainFactory grains, string description)
    {
        _host = host;
        Grains = grains;
        Description = description;
    }

    public IGrainFactory Grains { get; }

    public string Description { get; }

    public IRunTarget Run(string runId) => new GrainRunTarget(Grains, runId);

    /// <param name="cluster">"host:port[,host:port...]" of gateway silos; null for the site on this machine.</param>
    /// <param name="whenNoneRunning">
    /// What to connect to when <paramref name="cluster"/> is null and nothing listens on this machine's gateway port:
    /// the CLI starts an embedded host (it has the networks); the instrument client says what to give instead.
    /// </param>
    /// <param name="credentials">The client's token and TLS settings; null: from PARTICLEGRID_TOKEN and PARTICLEGRID__TLS__*.</param>
    public static async Task<ClusterConnection> OpenAsync(string? cluster, Func<CancellationToken, Task<ClusterConnection>> whenNoneRunning,
        CancellationToken cancellation, ClientCredentials? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(whenNoneRunning);
        credentials ??= ClientCredentials.FromEnvironment();
        if (cluster is not null) return await ClientAsync(ParseEndpoints(cluster), $"cluster {cluster}", credentials, cancellation);

        var local = new IPEndPoint(IPAddress.Loopback, SiteDefaults.GatewayPort);
        if (await IsListeningAsync(local, cancellation)) return await ClientAsync([local], $"the embedded host on {local}", credentials, cancellation);
        return await whenNoneRunning(cancellation);
    }

    private static async Task<ClusterConnection> ClientAsync(IPEndPoint[] gateways, string description, ClientCredentials credentials,
        CancellationToken cancellation)
    {
        // Read before connecting, so a missing or foreign certificate is named rather than seen as a gateway that hangs up.
        var site = credentials.Tls.Enabled ? SiteCertificate.Load(credentials.Tls, PeerRole.Client) : null;
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Error);
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(gateways);
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = credentials.ClusterId;
                o.ServiceId = credentials.ServiceId;
            });
            client.Services.AddParticleGridSerialization();
            // Every call carries the token; the gateway's silos check it against the call, as HTTP does a request.
            if (credentials.Token is { } token)
            {
                client.AddOutgoingGrainCallFilter(context =>
                {
                    RequestContext.Set(SiteCredentials.TokenKey, token);
                    return context.Invoke();
                });
            }
            // The gateway must be a silo of the site (its CA or a pinned thumbprint), not just any certificate.
            if (site is not null) client.UseTls(site.Local, tls => site.Configure(tls, PeerRole.Silo));
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            throw new InvalidOperationException($"cannot connect to {description}: {e.Message}", e);
        }
        return new ClusterConnection(host, host.Services.GetRequiredService<IClusterClient>(), description);
    }

    private static IPEndPoint[] ParseEndpoints(string cluster) =>
        [.. cluster.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(endpoint =>
        {
            int colon = endpoint.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], out int port) || port is < 1 or > 65535)
                throw new ArgumentException($"--cluster: '{endpoint}' is not host:port (a gateway silo's address, e.g. 10.0.0.5:30000)");
            string host = endpoint[..colon];
            var address = IPAddress.TryParse(host, out var ip) ? ip
                : Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                  ?? throw new ArgumentException($"--cluster: cannot resolve '{host}'");
            return new IPEndPoint(address, port);
        })];

    private static async Task<bool> IsListeningAsync(IPEndPoint endpoint, CancellationToken cancellation)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellation.IsCancellationRequested)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        if (_host is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync();
        else _host.Dispose();
    }
}

/// <summary>
/// What an Orleans client presents: a token (the same as HTTP's: an instrument token to ingest), its TLS certificate, and
/// the cluster it means (a gateway hangs up on a client of another cluster id).
/// </summary>
/// <param name="Token">pgt_...; null sends none, and the site refuses every call.</param>
public sealed record ClientCredentials(string? Token, TlsSettings Tls)
{
    public string ClusterId { get; init; } = SiteDefaults.ClusterId;

    public string ServiceId { get; init; } = SiteDefaults.ServiceId;

    /// <summary>
    /// PARTICLEGRID_TOKEN (never the command line, where other users of the PC would see it), PARTICLEGRID__TLS__*, and
    /// PARTICLEGRID__CLUSTERID / __SERVICEID.
    /// </summary>
    public static ClientCredentials FromEnvironment() =>
        new(Environment.GetEnvironmentVariable(HttpSiteConnection.TokenVariable) is { Length: > 0 } token ? token.Trim() : null, TlsSettings.FromEnvironment())
        {
            ClusterId = Environment.GetEnvironmentVariable("PARTICLEGRID__CLUSTERID") ?? SiteDefaults.ClusterId,
            ServiceId = Environment.GetEnvironmentVariable("PARTICLEGRID__SERVICEID") ?? SiteDefaults.ServiceId,
        };
}
