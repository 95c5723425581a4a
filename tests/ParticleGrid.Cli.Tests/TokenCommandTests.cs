using ParticleGrid.Host.Auth;
using ParticleGrid.Storage;

namespace ParticleGrid.Cli.Tests;

/// <summary>`particlegrid token create|list|revoke` on the store a host left behind, as an operator on the site's machine runs it.</summary>
public sealed class TokenCommandTests : IDisposable
{
    readonly string data = Directory.CreateTempSubdirectory("pg-cli-token-").FullName;

    [Fact]
    public async Task Creates_with_an_expiry_lists_without_the_hash_and_revokes_audited()
    {
        using (var store = SqlParticleStore.Sqlite(Path.Combine(data, "particles.db"))) await store.EnsureCreatedAsync();

        var created = ParticleGridProcess.Run("token", "create", "--role", "instrument", "--name", "FlowCAM PC", "--expires", "30d", "--data-dir", data);
        Assert.True(created.ExitCode == 0, created.ToString());
        string token = created.Output.Trim();
        Assert.StartsWith(AccessTokens.Prefix, token);
        string id = AccessTokens.Sha256(token)[..12];
        Assert.Contains($"token {id} (instrument, 'FlowCAM PC', expires {DateTime.UtcNow.AddDays(30):yyyy-MM-dd}", created.Error);

        var listed = ParticleGridProcess.Run("token", "list", "--data-dir", data);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        var line = listed.Output.Split('\n').Single(l => l.StartsWith(id));
        Assert.Contains("instrument", line);
        Assert.Contains("FlowCAM PC", line);
        Assert.Contains(DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd"), line);
        Assert.EndsWith("active", line.TrimEnd());
        Assert.DoesNotContain(AccessTokens.Sha256(token), listed.Output);
        Assert.DoesNotContain(token, listed.Output);

        var revoked = ParticleGridProcess.Run("token", "revoke", id, "--data-dir", data);
        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        Assert.Contains($"token {id} (instrument, 'FlowCAM PC') revoked at", revoked.Output);
        Assert.Contains("revoked", ParticleGridProcess.Run("token", "list", "--data-dir", data).Output.Split('\n').Single(l => l.StartsWith(id)));

        using (var store = SqlParticleStore.Sqlite(Path.Combine(data, "particles.db")))
        {
            var audit = await store.AdminAuditAsync(id);
            Assert.Equal(["token created", "token revoked"], audit.Select(e => e.Action));
            Assert.All(audit, e => Assert.Null(e.TokenId));
            Assert.All(audit, e => Assert.StartsWith("particlegrid token (", e.TokenName));
        }
    }

    [Fact]
    public async Task An_unknown_id_or_an_unreadable_expiry_is_one_clear_line()
    {
        using (var store = SqlParticleStore.Sqlite(Path.Combine(data, "particles.db"))) await store.EnsureCreatedAsync();
        var unknown = ParticleGridProcess.Run("token", "revoke", "0000deadbeef", "--data-dir", data);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("error: no token has the id '0000deadbeef'", unknown.Error);

        var expiry = ParticleGridProcess.Run("token", "create", "--role", "qa", "--expires", "next week", "--data-dir", data);
        Assert.Equal(1, expiry.ExitCode);
        Assert.Contains("error: expiry 'next week' is neither a lifetime", expiry.Error);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(data, recursive: true);
    }
}
