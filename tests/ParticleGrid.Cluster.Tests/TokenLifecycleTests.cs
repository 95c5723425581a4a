using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Host.Auth;
using ParticleGrid.Host.Hosting;
using ParticleGrid.Storage;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// Tokens with a lifecycle and least privilege for instruments, through the real host (silo + HTTP) on its real store:
/// expiry, last use, revocation within 5 s on a gateway that had remembered the token (and on a second gateway of a
/// PostgreSQL cluster), misses never remembered, repeated 401s slowed to 429, and a lot's volume that only an admin
/// changes, audited. Each test has a host of its own, so the failures one test counts do not slow another.
/// </summary>
public sealed class TokenLifecycleTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private RunningHost _host = null!;

    public async Task InitializeAsync() => _host = await RunningHost.StartAsync(o => o.DataDirectory = _data.Path);

    private IParticleStore Store => (IParticleStore)_host.App.Services.GetService(typeof(IParticleStore))!;

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<(string Token, string Id)> CreateAsync(string role, string name, string? expires = null)
    {
        var made = await Json(await _host.Http.PostAsJsonAsync("/tokens", new { role, name, expires }));
        return (made.GetProperty("token").GetString()!, made.GetProperty("tokenId").GetString()!);
    }

    [Fact]
    public async Task A_token_made_with_an_expiry_works_until_then_and_gets_401_after()
    {
        var expires = DateTimeOffset.UtcNow.AddSeconds(3);
        var (token, id) = await CreateAsync(Roles.Qa, "visiting auditor", expires.ToString("O"));
        using var client = _host.ClientWith(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/lots")).StatusCode);

        // Expiry is checked on every request, not only when the token is looked up again.
        while (DateTimeOffset.UtcNow <= expires) await Task.Delay(100);
        var refused = await client.GetAsync("/lots");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains($"the token {id} expired", await refused.Content.ReadAsStringAsync());

        // An expiry in the past, or one nobody can read, is refused with the reason; "30d" is 30 days from now.
        Assert.Contains("has passed", (await Json(await _host.Http.PostAsJsonAsync("/tokens", new { role = "qa", name = "x", expires = "2020-01-01" }),
            HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        Assert.Contains("neither a lifetime", (await Json(await _host.Http.PostAsJsonAsync("/tokens", new { role = "qa", name = "x", expires = "soon" }),
            HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        var month = await Json(await _host.Http.PostAsJsonAsync("/tokens", new { role = "qa", name = "for a month", expires = "30d" }));
        var until = month.GetProperty("expiresUtc").GetDateTimeOffset();
        Assert.InRange(until, DateTimeOffset.UtcNow.AddDays(30).AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    [Fact]
    public async Task Admins_list_tokens_with_their_last_use_and_never_their_hash()
    {
        var (token, id) = await CreateAsync(Roles.Instrument, "FlowCAM PC");
        using var instrument = _host.ClientWith(token);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        for (int i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.Forbidden, (await instrument.GetAsync("/lots")).StatusCode);   // a use, even when refused a role

        string body = await _host.Http.GetStringAsync("/tokens");
        Assert.DoesNotContain(AccessTokens.Sha256(token), body);
        Assert.DoesNotContain(token, body);
        Assert.DoesNotContain("sha", body, StringComparison.OrdinalIgnoreCase);
        var listed = JsonDocument.Parse(body).RootElement.EnumerateArray().Single(t => t.GetProperty("tokenId").GetString() == id);
        Assert.Equal(("FlowCAM PC", "instrument"), (listed.GetProperty("name").GetString(), listed.GetProperty("role").GetString()));
        var lastUsed = listed.GetProperty("lastUsedUtc").GetDateTimeOffset();
        Assert.InRange(lastUsed, before, DateTimeOffset.UtcNow);
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("revokedUtc").ValueKind);
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("expiresUtc").ValueKind);

        // Five requests, one write: the last use stays the first request's (it is written at most once a minute).
        Assert.Equal(lastUsed, (await Store.ListTokensAsync()).Single(t => t.TokenId == id).LastUsedUtc);

        // Only admins list, revoke and read the admin audit trail.
        var (qa, _) = await CreateAsync(Roles.Qa, "Dr. QA");
        using var reviewer = _host.ClientWith(qa);
        Assert.Equal(HttpStatusCode.Forbidden, (await reviewer.GetAsync("/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reviewer.DeleteAsync($"/tokens/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reviewer.GetAsync("/audit/admin")).StatusCode);
    }

    [Fact]
    public async Task A_revoked_token_gets_401_within_5_seconds_on_a_gateway_that_remembered_it_and_the_revocation_is_audited()
    {
        var (token, id) = await CreateAsync(Roles.Qa, "leaving reviewer");
        using var client = _host.ClientWith(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/lots")).StatusCode);   // the gateway remembers it now

        var revoked = await Json(await _host.Http.DeleteAsync($"/tokens/{id}"));
        Assert.NotEqual(JsonValueKind.Null, revoked.GetProperty("revokedUtc").ValueKind);
        var refusedAfter = await TimeUntilRefusedAsync(client);
        Assert.True(refusedAfter < TimeSpan.FromSeconds(5), $"refused after {refusedAfter.TotalSeconds:0.0} s");
        var refused = await client.GetAsync("/lots");
        Assert.Contains($"the token {id} was revoked", await refused.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, (await _host.Http.DeleteAsync("/tokens/no-such-id")).StatusCode);
        var audit = await Json(await _host.Http.GetAsync($"/audit/admin?subject={id}"));
        var entries = audit.EnumerateArray().ToList();
        Assert.Equal(["token created", "token revoked"], entries.Select(e => e.GetProperty("action").GetString()));
        string adminId = (await Store.ListTokensAsync()).Single(t => t.Name == "test admin").TokenId;
        Assert.All(entries, e => Assert.Equal((adminId, "test admin"), (e.GetProperty("tokenId").GetString(), e.GetProperty("tokenName").GetString())));
    }

    [SkippableFact]
    public async Task A_token_revoked_on_one_gateway_gets_401_within_5_seconds_on_another_sharing_the_PostgreSQL_store()
    {
        Prerequisite.PostgreSQL.SkipIfMissing();
        await using var database = await TemporaryPostgresDatabase.CreateAsync();
        string clusterId = "tokens-" + Guid.NewGuid().ToString("N")[..8];
        using var folder = new TemporaryDirectory();
        using var site = new TestCertificateAuthority(folder.Path, "site");   // cluster mode needs mutual TLS
        void Gateway(ParticleGridOptions o)
        {
            o.Mode = HostingMode.Cluster;
            o.Tls = site.Silo("gateway");
            o.PostgresConnectionString = database.ConnectionString;
            o.Roles = "gateway";
            o.ClusterId = clusterId;
            o.AdvertisedIpAddress = "127.0.0.1";
        }
        await using var first = await RunningHost.StartAsync(Gateway);
        await using var second = await RunningHost.StartAsync(Gateway);

        var made = await Json(await first.Http.PostAsJsonAsync("/tokens", new { role = "qa", name = "shared reviewer" }));
        string token = made.GetProperty("token").GetString()!, id = made.GetProperty("tokenId").GetString()!;
        using var onSecond = second.ClientWith(token);
        Assert.Equal(HttpStatusCode.OK, (await onSecond.GetAsync("/lots")).StatusCode);   // the second gateway remembers it

        await Json(await first.Http.DeleteAsync($"/tokens/{id}"));
        var refusedAfter = await TimeUntilRefusedAsync(onSecond);
        Assert.True(refusedAfter < TimeSpan.FromSeconds(5), $"the other gateway refused it after {refusedAfter.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task An_unknown_token_is_not_remembered_so_a_token_made_just_after_works_at_once()
    {
        string token = AccessTokens.New();
        using var client = _host.ClientWith(token);
        var miss = await client.GetAsync("/lots");
        Assert.Equal(HttpStatusCode.Unauthorized, miss.StatusCode);
        Assert.Contains("the token is not valid", await miss.Content.ReadAsStringAsync());

        // Stored as `particlegrid token create` stores it, on the store directly, right after the miss.
        await Store.SaveTokenAsync(AccessTokens.Sha256(token), "made after a miss", Roles.Qa, DateTimeOffset.UtcNow, null, new Actor(null, "test"));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/lots")).StatusCode);
    }

    [Fact]
    public async Task Repeated_401s_from_one_client_are_answered_429_with_Retry_After_whatever_token_it_sends()
    {
        using var guesser = _host.ClientWith(null);
        for (int i = 0; i < FailedAttempts.Allowed; i++)
        {
            using var guess = new HttpRequestMessage(HttpMethod.Get, "/lots");
            guess.Headers.Authorization = new("Bearer", AccessTokens.New());
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.SendAsync(guess)).StatusCode);
        }
        using var another = new HttpRequestMessage(HttpMethod.Get, "/lots");
        another.Headers.Authorization = new("Bearer", AccessTokens.New());
        var throttled = await guesser.SendAsync(another);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        var retryAfter = throttled.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), FailedAttempts.Window);
        Assert.Contains("try again in", await throttled.Content.ReadAsStringAsync());

        // From that address even a valid token waits (a guess that succeeds must not show), and no token is looked up.
        var valid = await _host.Http.GetAsync("/lots");
        Assert.Equal(HttpStatusCode.TooManyRequests, valid.StatusCode);
        // What needs no token still answers.
        Assert.Equal(HttpStatusCode.OK, (await guesser.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task An_instrument_cannot_change_a_lots_volume_an_admin_can_with_a_reason_and_it_is_audited()
    {
        var (token, _) = await CreateAsync(Roles.Instrument, "FlowCAM PC");
        using var instrument = _host.ClientWith(token);
        object Run(double? volume) => new { lotId = "LOT-V", instrumentId = "FC-1", analysedVolumeMl = 0.5, containerVolumeMl = volume };

        await Json(await instrument.PostAsJsonAsync("/runs/v-1", Run(2.0)));   // set for the first time
        await Json(await instrument.PostAsJsonAsync("/runs/v-2", Run(2.0)));   // every run of the lot sends it again
        await Json(await instrument.PostAsJsonAsync("/runs/v-3", Run(null)));  // or nothing

        var refused = await Json(await instrument.PostAsJsonAsync("/runs/v-4", Run(5.0)), HttpStatusCode.Forbidden);
        Assert.Contains("container volume 2 mL -> 5 mL", refused.GetProperty("error").GetString());
        Assert.Contains("PUT /lots/LOT-V", refused.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Http.GetAsync("/runs/v-4")).StatusCode);   // the run was not started
        Assert.Equal(new LotRecord("LOT-V", 2.0, null), await Store.GetLotAsync("LOT-V"));

        // The Orleans path (ingest --cluster describes the lot through its grain) is held to the same rule.
        var grainRefusal = await Assert.ThrowsAsync<LotChangeRefusedException>(() =>
            _host.Grains.GetGrain<ILotGrain>("LOT-V").Describe(new LotDescriptor(5.0)));
        Assert.Contains("container volume 2 mL -> 5 mL", grainRefusal.Message);

        // The admin path: an instrument may not use it; an admin must give a reason; the change names the admin's token.
        Assert.Equal(HttpStatusCode.Forbidden, (await instrument.PutAsJsonAsync("/lots/LOT-V", new { containerVolumeMl = 5.0, reason = "mine" })).StatusCode);
        Assert.Contains("reason", (await Json(await _host.Http.PutAsJsonAsync("/lots/LOT-V", new { containerVolumeMl = 5.0 }), HttpStatusCode.BadRequest))
            .GetProperty("error").GetString());
        var changed = await Json(await _host.Http.PutAsJsonAsync("/lots/LOT-V", new { containerVolumeMl = 5.0, product = "mAb-7", reason = "the vials are 5 mL" }));
        Assert.Equal(5.0, changed.GetProperty("lot").GetProperty("containerVolumeMl").GetDouble());
        var entry = changed.GetProperty("audit").EnumerateArray().Single();
        string adminId = (await Store.ListTokensAsync()).Single(t => t.Name == "test admin").TokenId;
        Assert.Equal((adminId, "test admin", "lot changed"),
            (entry.GetProperty("tokenId").GetString(), entry.GetProperty("tokenName").GetString(), entry.GetProperty("action").GetString()));
        Assert.Equal("container volume 2 mL -> 5 mL; product set to 'mAb-7'; reason: the vials are 5 mL", entry.GetProperty("detail").GetString());
        Assert.Equal(new LotRecord("LOT-V", 5.0, "mAb-7"), await Store.GetLotAsync("LOT-V"));

        // Runs after the change send the new volume; an instrument cannot erase the product by leaving it out.
        await Json(await instrument.PostAsJsonAsync("/runs/v-5", Run(5.0)));
        Assert.Equal(new LotRecord("LOT-V", 5.0, "mAb-7"), await Store.GetLotAsync("LOT-V"));
    }

    /// <summary>Asks every 100 ms until the token is refused (401); how long that took.</summary>
    private static async Task<TimeSpan> TimeUntilRefusedAsync(HttpClient client)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            var response = await client.GetAsync("/lots");
            if (response.StatusCode == HttpStatusCode.Unauthorized) return clock.Elapsed;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await Task.Delay(100);
        }
        return clock.Elapsed;
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _data.Dispose();
    }
}
