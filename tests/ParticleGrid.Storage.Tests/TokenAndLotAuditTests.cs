using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Storage.Tests;

/// <summary>
/// Tokens with a lifecycle (expiry, last use, revocation), a lot described once, and the admin audit trail that names
/// the acting token's id and name: the same contract on SQLite (embedded) and PostgreSQL (cluster).
/// </summary>
public sealed class TokenAndLotAuditTests : IAsyncLifetime
{
    private readonly ScratchDatabases _databases = new("tokens");

    public static TheoryData<string> Backends => ScratchDatabases.Backends;

    private static readonly Actor Admin = new("0123456789ab", "site admin");

    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_token_keeps_its_expiry_last_use_and_first_revocation_and_both_are_audited(string backend)
    {
        using var store = await _databases.OpenStoreAsync(backend);
        string sha = new('c', 64);
        var made = await store.SaveTokenAsync(sha, "FlowCAM PC", "instrument", T0, T0.AddDays(30), Admin);
        Assert.Equal(new AccessToken("cccccccccccc", "FlowCAM PC", "instrument", T0, T0.AddDays(30)), made);
        Assert.Equal(made, await store.FindTokenAsync(sha));
        Assert.Null(made.RefusalAt(T0.AddDays(29)));
        Assert.Contains("expired", made.RefusalAt(T0.AddDays(30)));

        // Last use: written once a minute at most, however often it is noted.
        await store.TouchTokenAsync(made.TokenId, T0.AddSeconds(10));
        await store.TouchTokenAsync(made.TokenId, T0.AddSeconds(50));
        Assert.Equal(T0.AddSeconds(10), (await store.FindTokenAsync(sha))!.LastUsedUtc);
        await store.TouchTokenAsync(made.TokenId, T0.AddSeconds(75));
        Assert.Equal(T0.AddSeconds(75), Assert.Single(await store.ListTokensAsync()).LastUsedUtc);

        var revoked = await store.RevokeTokenAsync(made.TokenId, Admin, T0.AddHours(1));
        Assert.Equal(T0.AddHours(1), revoked!.RevokedUtc);
        Assert.Contains("revoked", revoked.RefusalAt(T0.AddHours(1)));
        Assert.Equal(T0.AddHours(1), (await store.RevokeTokenAsync(made.TokenId, new Actor("ffffffffffff", "someone else"), T0.AddHours(2)))!.RevokedUtc);
        Assert.Null(await store.RevokeTokenAsync("no-such-id", Admin, T0));

        var audit = await store.AdminAuditAsync(made.TokenId);
        Assert.Equal(["token created", "token revoked"], audit.Select(e => e.Action));
        Assert.All(audit, e => Assert.Equal(("0123456789ab", "site admin"), (e.TokenId, e.TokenName)));
        Assert.Equal([1L, 2L], audit.Select(e => e.Sequence));
        Assert.Contains("expires", audit[0].Detail);

        // The first admin token of a site is made only when there is none.
        Assert.Null(await store.SaveTokenAsync(new string('d', 64), "first admin", "admin", T0, onlyIfNoTokens: true));
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_lot_is_described_once_and_only_an_admins_audited_change_changes_it(string backend)
    {
        using var store = await _databases.OpenStoreAsync(backend);
        await store.SaveLotAsync(new LotRecord("LOT-7", 2, null));            // the first run sets the volume
        await store.SaveLotAsync(new LotRecord("LOT-7", 2, null));            // every later run sends it again: no change
        await store.SaveLotAsync(new LotRecord("LOT-7", null, "mAb-7"));      // a product never set is set

        var refused = await Assert.ThrowsAsync<LotDescriptionLockedException>(() => store.SaveLotAsync(new LotRecord("LOT-7", 5, "mAb-8")));
        Assert.Contains("container volume 2 mL -> 5 mL", refused.Message);
        Assert.Contains("product 'mAb-7' -> 'mAb-8'", refused.Message);
        Assert.Contains("PUT /lots/LOT-7", refused.Message);
        Assert.Equal(new LotRecord("LOT-7", 2, "mAb-7"), await store.GetLotAsync("LOT-7"));
        Assert.Empty(await store.AdminAuditAsync("LOT-7"));

        await Assert.ThrowsAsync<ArgumentException>(() => store.ChangeLotAsync(new LotRecord("LOT-7", 5, null), Admin, " ", T0));
        var changed = await store.ChangeLotAsync(new LotRecord("LOT-7", 5, null), Admin, "the label said 5 mL vials", T0);
        Assert.Equal(new LotRecord("LOT-7", 5, "mAb-7"), changed);
        Assert.Equal(changed, await store.GetLotAsync("LOT-7"));
        var entry = Assert.Single(await store.AdminAuditAsync("LOT-7"));
        Assert.Equal(("lot changed", "0123456789ab", "site admin"), (entry.Action, entry.TokenId, entry.TokenName));
        Assert.Equal("container volume 2 mL -> 5 mL; reason: the label said 5 mL vials", entry.Detail);

        // Runs after the change send the new volume: no change, allowed; the old one is now refused.
        await store.SaveLotAsync(new LotRecord("LOT-7", 5, null));
        await Assert.ThrowsAsync<LotDescriptionLockedException>(() => store.SaveLotAsync(new LotRecord("LOT-7", 2, null)));
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_review_keeps_the_reviewers_token_id_inside_the_hash_chain(string backend)
    {
        using var store = await _databases.OpenStoreAsync(backend);
        await store.SaveRunAsync(new RunRecord("run-1", "LOT-1", "FC-1", 0.5, 1, T0));
        await store.AppendAsync([new ParticleRecord("run-1", "p1", "LOT-1", "FC-1", new string('a', 64), 12, "protein", 0.97, false, null, "set-a",
            [new ModelVote("resnet50", "resnet50@0123456789ab", [0.01f, 0.01f, 0.01f, 0.97f], "protein")], null, T0)]);
        await store.AppendReviewAsync("run-1", "p1", "Dr. QA", "glass", "edges", T0);                       // as written before token ids
        var entry = await store.AppendReviewAsync("run-1", "p1", "Dr. QA", "protein", "second look", T0, "abcdefabcdef");
        Assert.Equal("abcdefabcdef", entry.ReviewerTokenId);
        var entries = await store.ReviewsAsync("LOT-1");
        Assert.Equal([null, "abcdefabcdef"], entries.Select(e => e.ReviewerTokenId));
        Assert.True((await store.VerifyAuditTrailAsync()).Intact);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _databases.DisposeAsync().AsTask();
}
