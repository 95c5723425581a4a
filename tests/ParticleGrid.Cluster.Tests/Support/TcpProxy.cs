using System.Net;
using System.Net.Sockets;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>
/// A TCP proxy in front of a server (PostgreSQL here) that a test can cut and restore: cut, it drops every open
/// connection and refuses new ones, as a server that stopped or a network that failed would; restored, it connects
/// again. Stopping the shared PostgreSQL server itself would break every other test running against it.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private volatile bool _cut;

    public TcpProxy(string upstreamHost, int upstreamPort)
    {
        _upstream = new IPEndPoint(Dns.GetHostAddresses(upstreamHost).First(a => a.AddressFamily == AddressFamily.InterNetwork), upstreamPort);
        _listener.Start();
        _accepting = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>A proxy in front of a test database's server, and the connection string that goes through it.</summary>
    /// <remarks>Timeout: a connection attempt through the cut proxy is refused at once; the bound is for a slower failure.</remarks>
    public static (TcpProxy Proxy, string ConnectionString) InFrontOf(string connectionString)
    {
        var direct = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        var proxy = new TcpProxy(direct.Host!, direct.Port);
        return (proxy, new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 5 }.ToString());
    }

    /// <summary>Drops every connection now and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var client in _open) client.Client.Close(0);   // a reset, as a dead server's host would answer
            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            if (_cut)
            {
                client.Client.Close(0);
                continue;
            }
            _ = Task.Run(() => PipeAsync(client));
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        var server = new TcpClient();
        try
        {
            await server.ConnectAsync(_upstream, _stop.Token);
            lock (_open) { _open.Add(client); _open.Add(server); }
            var a = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
            var b = server.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        finally
        {
            lock (_open) { _open.Remove(client); _open.Remove(server); }
            client.Dispose();
            server.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        Cut();
        await _accepting;
        _stop.Dispose();
    }
}
