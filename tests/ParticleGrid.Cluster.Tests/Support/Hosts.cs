using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Npgsql;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>The real host (silo + HTTP) on free loopback ports.</summary>
public sealed class RunningHost : IAsyncDisposable
{
    private RunningHost(WebApplication app, string baseUrl, int gatewayPort, int? metricsPort, HttpMessageHandler? handler)
    {
        App = app;
        GatewayPort = gatewayPort;
        MetricsPort = metricsPort;
        _handler = handler;
        Http = new HttpClient(handler ?? new HttpClientHandler(), disposeHandler: false) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
    }

    private readonly HttpMessageHandler? _handler;

    /// <summary>Where /metrics is served (null: not served), apart from the API's port.</summary>
    public int? MetricsPort { get; }

    public WebApplication App { get; }

    /// <summary>Where Orleans clients (the ingest command) connect.</summary>
    public int GatewayPort { get; }

    public HttpClient Http { get; }

    public IGrainFactory Grains => (IGrainFactory)App.Services.GetService(typeof(IGrainFactory))!;

    /// <summary>An admin token made for the test; <see cref="Http"/> sends it unless the test says otherwise.</summary>
    public string? AdminToken { get; private set; }

    /// <summary>An instrument token made for the test: what ingest --cluster presents (<see cref="ClientEnvironment"/>).</summary>
    public string? InstrumentToken { get; private set; }

    /// <summary>The variables an Orleans client process (ingest/watch --cluster) needs here: PARTICLEGRID_TOKEN, an instrument token.</summary>
    public IReadOnlyDictionary<string, string> ClientEnvironment =>
        new Dictionary<string, string> { ["PARTICLEGRID_TOKEN"] = InstrumentToken ?? throw new InvalidOperationException("the host was started without tokens") };

    /// <summary>A client that sends <paramref name="token"/> (or nothing).</summary>
    public HttpClient ClientWith(string? token)
    {
        var client = new HttpClient(_handler ?? new HttpClientHandler(), disposeHandler: _handler is null) { BaseAddress = Http.BaseAddress, Timeout = Http.Timeout };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <param name="scheme">"https" with a certificate in the options (Https); <paramref name="handler"/> then trusts it.</param>
    /// <param name="handler">What <see cref="Http"/> and <see cref="ClientWith"/> send through (kept open; the caller disposes it).</param>
    public static async Task<RunningHost> StartAsync(Action<ParticleGridOptions> configure, bool configureToken = true, string scheme = "http",
        HttpMessageHandler? handler = null)
    {
        int[] ports = FreePorts(4);
        string url = $"{scheme}://127.0.0.1:{ports[2]}";
        ParticleGridOptions? configured = null;
        var app = await ParticleGridHost.BuildAsync([], options =>
        {
            options.SiloPort = ports[0];
            options.GatewayPort = ports[1];
            options.MetricsPort = ports[3];
            options.Worker.Device = "cpu";
            configure(options);
            configured = options;
        }, url, builder => builder.Logging.SetMinimumLevel(LogLevel.Warning), new ParticleGrid.Serving.WorkerRuntime());
        await app.StartAsync();
        var host = new RunningHost(app, url, ports[1], configured!.MetricsPort, handler);
        var store = (ParticleGrid.Storage.IParticleStore)app.Services.GetService(typeof(ParticleGrid.Storage.IParticleStore))!;
        if (configureToken)
        {
            host.AdminToken = (await ParticleGrid.Host.Auth.AccessTokens.CreateAsync(store, "admin", "test admin")).Token;
            host.InstrumentToken = (await ParticleGrid.Host.Auth.AccessTokens.CreateAsync(store, "instrument", "test instrument")).Token;
            host.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", host.AdminToken);
        }
        return host;
    }

    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        int[] ports = [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>
/// A fresh PostgreSQL database for one test, on the server .ci/run starts (.ci/postgres.sh), or the one named by
/// PARTICLEGRID_TEST_POSTGRES (a connection string to a role that may create databases).
/// </summary>
public sealed class TemporaryPostgresDatabase : IAsyncDisposable
{
    public const string Variable = Prerequisite.PostgresVariable;
    private const string Default = Prerequisite.PostgresDefault;
    private readonly string _admin;
    private readonly string _name = $"pgtest_{Guid.NewGuid():N}";

    private TemporaryPostgresDatabase(string admin)
    {
        _admin = admin;
        ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = _name }.ToString();
    }

    public string ConnectionString { get; }

    /// <remarks>Skips the test when PostgreSQL is not running (see Prerequisites.PostgreSQL_is_running).</remarks>
    public static async Task<TemporaryPostgresDatabase> CreateAsync()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        string admin = Environment.GetEnvironmentVariable(Variable) ?? Default;
        var database = new TemporaryPostgresDatabase(admin);
        try
        {
            await database.ExecuteAsync($"CREATE DATABASE {database._name}");
        }
        catch (Exception e) when (e is NpgsqlException or SocketException)
        {
            throw new InvalidOperationException(
                $"The cluster-mode tests need PostgreSQL: run .ci/postgres.sh (Debian's package, role 'particlegrid'), or set {Variable} " +
                $"to a connection string of a role that may create databases. ({e.Message})", e);
        }
        return database;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
    }
}
