using Microsoft.Data.Sqlite;
using ParticleGrid.Storage;

namespace ParticleGrid.Cli.Tests;

/// <summary>`particlegrid store verify` / `rebuild`: the kept lot aggregates recounted from the particles of a host's store.</summary>
public sealed class StoreCommandTests : IDisposable
{
    readonly string data = Directory.CreateTempSubdirectory("pg-cli-store-").FullName;

    string Database => Path.Combine(data, "particles.db");

    async Task RecordAsync()
    {
        using var store = SqlParticleStore.Sqlite(Database);
        await store.EnsureCreatedAsync();
        await store.SaveRunAsync(new RunRecord("run-1", "LOT-7", "FC-1", 0.01, null, DateTimeOffset.UtcNow));
        ParticleRecord P(string id, string type, double ecd) => new("run-1", id, "LOT-7", "FC-1", new string('0', 64), ecd, type, 0.99, false, null,
            "set-0123456789ab", [], null, DateTimeOffset.UtcNow);
        await store.AppendAsync([.. Enumerable.Range(0, 40).Select(i => P($"p{i}", "protein", 30)), P("b1", "bubble", 80)]);
        await store.AppendReviewAsync("run-1", "p3", "qa", "glass", "edges", DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Verify_finds_nothing_on_a_store_kept_by_appends_and_reviews_and_what_was_changed_out_of_band_until_rebuild()
    {
        await RecordAsync();
        var clean = ParticleGridProcess.Run("store", "verify", "--data-dir", data);
        Assert.True(clean.ExitCode == 0, clean.ToString());
        Assert.Contains("1 lot(s), 41 particle(s) recounted; 0 difference(s)", clean.Output);

        await using (var connection = new SqliteConnection($"Data Source={Database};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE lot_tallies SET particles = particles + 2 WHERE particle_type = 'protein'";
            await command.ExecuteNonQueryAsync();
        }
        var broken = ParticleGridProcess.Run("store", "verify", "--data-dir", data);
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("lot LOT-7: type 'protein', size class 4, certain, not reviewed: kept 41, counted 39", broken.Output);

        var rebuilt = ParticleGridProcess.Run("store", "rebuild", "--data-dir", data);
        Assert.True(rebuilt.ExitCode == 0, rebuilt.ToString());
        Assert.Contains("1 difference(s); aggregates rewritten from the recount", rebuilt.Output);
        Assert.Equal(0, ParticleGridProcess.Run("store", "verify", "--data-dir", data).ExitCode);

        // The verdict kept for the lot list is checked too: judged again on the recount, and rewritten by rebuild.
        await ExecuteAsync("UPDATE lot_aggregates SET verdict = 'Pass' WHERE lot_id = 'LOT-7'");
        var verdict = ParticleGridProcess.Run("store", "verify", "--data-dir", data);
        Assert.Equal(1, verdict.ExitCode);
        Assert.Contains("lot LOT-7: verdict kept Pass, recomputed NotAssessable", verdict.Output);
        Assert.Equal(0, ParticleGridProcess.Run("store", "rebuild", "--data-dir", data).ExitCode);
        var lot = ParticleGridProcess.Run("store", "verify", "--data-dir", data);
        Assert.True(lot.ExitCode == 0, lot.ToString());
        using var store = SqlParticleStore.Sqlite(Database);
        Assert.Equal(ParticleGrid.Domain.VerdictOutcome.NotAssessable, (await new LotReads(store).SummaryAsync("LOT-7"))!.Verdict);
    }

    async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Database};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(data, recursive: true);
    }
}
