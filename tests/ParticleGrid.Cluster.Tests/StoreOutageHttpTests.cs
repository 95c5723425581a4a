using System.Net;
using System.Text.Json;
using Npgsql;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Host.Auth;
using ParticleGrid.Host.Hosting;
using ParticleGrid.Storage;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// Issue 17: what HTTP callers get while the store (PostgreSQL, which also holds the tokens) cannot be reached. A
/// bearer token that has to be looked up gets 503 with Retry-After and one line, as an Orleans client's call does, not
/// a 500; <c>/health/ready</c> says "not ready" with a short reason and no exception text. Both recover when the store
/// is back. The outage is a <see cref="TcpProxy"/> in front of the shared server, cut and restored, as in
/// <see cref="OutageTests"/>.
/// </summary>
public sealed class StoreOutageHttpTests : IDisposable
{
    private readonly TemporaryDirectory _work = new();

    [SkippableFact]
    public async Task A_token_check_and_health_ready_answer_503_with_a_short_reason_while_the_store_is_down_and_recover_after()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        await using var database = await TemporaryPostgresDatabase.CreateAsync();
        var (proxy, throughProxy) = TcpProxy.InFrontOf(database.ConnectionString);
        await using var _ = proxy;
        using var site = new TestCertificateAuthority(_work.Path, "site");
        await using var host = await RunningHost.StartAsync(o =>
        {
            o.Mode = HostingMode.Cluster;
            o.Roles = "gateway";   // a gateway has no model set to load: ready means the silo is up and the store answers
            o.PostgresConnectionString = throughProxy;
            o.AdvertisedIpAddress = "127.0.0.1";
            o.Tls = site.Silo("gateway");
        });
        // A token this host has never checked, so it cannot have remembered it (TokenLookup.Remembered): the check
        // must go to the store.
        var store = (IParticleStore)host.App.Services.GetService(typeof(IParticleStore))!;
        using var qa = host.ClientWith((await AccessTokens.CreateAsync(store, Roles.Qa, "outage QA")).Token);
        using var anonymous = host.ClientWith(null);

        var ready = await anonymous.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using (var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()))
            Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());

        proxy.Cut();
        try
        {
            var refused = await qa.GetAsync("/auth/me");
            string refusal = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, $"{refused.StatusCode}: {refusal}");
            Assert.True(refused.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, $"Retry-After: {refused.Headers.RetryAfter}");
            using (var body = JsonDocument.Parse(refusal))
                Assert.Equal("the site cannot check the token now: the token store cannot be used: it is not reachable; nothing was done; send it again in 5 s",
                    body.RootElement.GetProperty("error").GetString());
            AssertNoExceptionText(refusal, throughProxy);

            var notReady = await anonymous.GetAsync("/health/ready");
            string notReadyText = await notReady.Content.ReadAsStringAsync();
            Assert.True(notReady.StatusCode == HttpStatusCode.ServiceUnavailable, $"{notReady.StatusCode}: {notReadyText}");
            using (var body = JsonDocument.Parse(notReadyText))
            {
                Assert.Equal("not ready", body.RootElement.GetProperty("status").GetString());
                Assert.Equal("the particle store is not reachable (the host's log says why)", body.RootElement.GetProperty("reason").GetString());
            }
            AssertNoExceptionText(notReadyText, throughProxy);
        }
        finally
        {
            proxy.Restore();
        }

        // The same request, sent again as Retry-After says, once the store is back: the pool's dropped connections
        // may fail a first try, so it is retried (as a client honouring Retry-After would), and only 503s may come first.
        var statuses = new List<HttpStatusCode>();
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(250))
        {
            var again = await qa.GetAsync("/auth/me");
            statuses.Add(again.StatusCode);
            if (again.StatusCode == HttpStatusCode.OK) break;
            Assert.True(DateTime.UtcNow < deadline, $"the token is still refused 30 s after the store came back: {string.Join(", ", statuses)}");
        }
        Assert.All(statuses[..^1], status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
    }

    /// <summary>No driver or exception text, no stack trace, nothing of the connection string: one short line of JSON.</summary>
    private static void AssertNoExceptionText(string body, string connectionString)
    {
        Assert.DoesNotContain('\n', body);
        foreach (var leak in new[] { "Exception", "Npgsql", "   at ", "Socket", "refused", new NpgsqlConnectionStringBuilder(connectionString).Database!,
                     $"{new NpgsqlConnectionStringBuilder(connectionString).Port}" })
            Assert.DoesNotContain(leak, body, StringComparison.OrdinalIgnoreCase);
    }

    public void Dispose() => _work.Dispose();
}
