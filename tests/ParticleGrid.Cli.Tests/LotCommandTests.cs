using System.Text.Json;
using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Cli.Tests;

/// <summary>`particlegrid lot`: a lot's profile from the store a host left behind, as text or JSON.</summary>
public sealed class LotCommandTests : IDisposable
{
    readonly string data = Directory.CreateTempSubdirectory("pg-cli-lot-").FullName;

    async Task RecordLotAsync()
    {
        using var store = SqlParticleStore.Sqlite(Path.Combine(data, "particles.db"));
        await store.EnsureCreatedAsync();
        await store.SaveLotAsync(new LotRecord("LOT-7", 2.0, "mAb"));
        await store.SaveRunAsync(new RunRecord("run-1", "LOT-7", "FC-1", 0.01, null, DateTimeOffset.UtcNow));
        ParticleRecord P(string id, string type, double ecd) => new("run-1", id, "LOT-7", "FC-1", new string('0', 64), ecd, type, 0.99, false, null,
            "set-0123456789ab", [new ModelVote("resnet50", "resnet50@0123456789ab", [0.97f, 0.01f, 0.01f, 0.01f], type)], null, DateTimeOffset.UtcNow);
        await store.AppendAsync([.. Enumerable.Range(0, 40).Select(i => P($"p{i}", "protein", 30)), P("b1", "bubble", 80)]);
    }

    [Fact]
    public async Task Prints_the_profile_and_the_verdict_as_text_and_as_json()
    {
        await RecordLotAsync();

        var text = ParticleGridProcess.Run("lot", "LOT-7", "--data-dir", data);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("Lot LOT-7: 41 particle images from 1 run(s)", text.Output);
        Assert.Contains("Verdict: FAIL", text.Output);        // 40 >= 25 um in 0.01 mL: 8000 per 2 mL container > 600
        Assert.Contains("bubble (artefact, not counted)", text.Output);

        var json = ParticleGridProcess.Run("lot", "LOT-7", "--data-dir", data, "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using var profile = JsonDocument.Parse(json.Output);
        Assert.Equal("Fail", profile.RootElement.GetProperty("verdict").GetProperty("outcome").GetString());
        var total = profile.RootElement.GetProperty("particlesExcludingBubbles").GetProperty("sizeClasses");
        Assert.Equal(40, total[3].GetProperty("count").GetInt32());
        Assert.Equal(8000, total[3].GetProperty("perContainer").GetDouble(), 6);

        // The command reads the lot as the API's list does (one read path): the same verdict as the one stored for the list.
        using var store = SqlParticleStore.Sqlite(Path.Combine(data, "particles.db"));
        Assert.Equal(VerdictOutcome.Fail, (await new LotReads(store).SummaryAsync("LOT-7"))!.Verdict);
    }

    [Fact]
    public async Task An_unknown_lot_or_a_folder_without_a_store_is_one_clear_line()
    {
        await RecordLotAsync();
        var unknown = ParticleGridProcess.Run("lot", "LOT-8", "--data-dir", data);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("error: lot 'LOT-8' is not known", unknown.Error);

        string empty = Path.Combine(data, "empty");
        Directory.CreateDirectory(empty);
        var nowhere = ParticleGridProcess.Run("lot", "LOT-7", "--data-dir", empty);
        Assert.Equal(1, nowhere.ExitCode);
        Assert.Contains("no particle store here", nowhere.Error);
        Assert.DoesNotContain("   at ", nowhere.Error);
    }

    public void Dispose() => Directory.Delete(data, recursive: true);
}
