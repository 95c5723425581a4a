using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Storage.Tests;

/// <summary>
/// Issue 16 part 6: the store's hot reads use indexes on PostgreSQL. Each read is run through the store itself on a
/// filled database; the statements it sends are taken from Npgsql's tracing (so the plans checked are those of the SQL
/// the store really runs, not of a copy), and each is EXPLAINed as the generic plan a prepared statement gets, which
/// does not depend on the parameters' values. No statement may read particles by a sequential scan, and reads that
/// hand particles out in key order (keyset pages, exports) must get that order from an index, not sort the lot.
/// </summary>
public sealed class QueryPlanTests : IAsyncLifetime
{
    private const int Lots = 100, ParticlesPerRun = 50;
    private readonly ScratchDatabases _databases = new("plans");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _databases.DisposeAsync();

    [SkippableFact]
    public async Task The_hot_queries_read_particles_by_index()
    {
        using var store = await _databases.OpenStoreAsync("postgres");
        await FillAsync(store);
        await using var admin = new NpgsqlConnection(_databases.PostgresConnection());
        await admin.OpenAsync();
        await ExecuteAsync(admin, "ANALYZE");   // the planner's statistics of a filled store, as autovacuum would leave them

        const string lot = "LOT-0050", run = "LOT-0050-FC-2";
        var reads = new (string Name, Func<Task> Read, bool Ordered)[]
        {
            ("lot list", () => store.ListLotsAsync(new LotListQuery()), false),
            ("lot list by verdict", () => store.ListLotsAsync(new LotListQuery(Verdict: VerdictOutcome.Fail)), false),
            ("lot tally and profile", () => new LotReads(store).ProfileAsync(lot), false),
            ("lot particle page (keyset)", () => store.QueryParticlesAfterAsync(new ParticleQuery(LotId: lot, Limit: 20), new ParticleKey(run, "p0010")), true),
            ("run particle page (keyset)", () => store.QueryParticlesAfterAsync(new ParticleQuery(RunId: run, Limit: 20), new ParticleKey(run, "p0010")), true),
            ("lot export scan", async () => { await foreach (var _ in store.ParticlesOfLotAsync(lot)) { } }, true),
            ("stored-id lookup", () => store.StoredParticleIdsAsync(run, ["p0001", "p0002", "missing"]), false),
        };

        var problems = new List<string>();
        foreach (var (name, read, ordered) in reads)
        {
            var statements = await StatementsOfAsync(read);
            Assert.True(statements.Count > 0, $"{name}: no statement was traced");
            foreach (string sql in statements.Where(s => s.Contains("particles", StringComparison.Ordinal)))
            {
                using var plan = await GenericPlanAsync(admin, sql);
                var root = plan.RootElement[0].GetProperty("Plan");
                foreach (var scan in Nodes(root).Where(n => n.GetProperty("Node Type").GetString() == "Seq Scan"))
                {
                    string table = scan.GetProperty("Relation Name").GetString()!;
                    // The list of every lot reads all lots by design; what it must not do is read the particles.
                    if (table == "particles" || (!name.StartsWith("lot list", StringComparison.Ordinal) && table is "lot_tallies" or "model_set_counts"))
                        problems.Add($"{name}: Seq Scan on {table}\n  {sql}\n{Indent(plan)}");
                }
                if (ordered && Nodes(root).Any(n => n.GetProperty("Node Type").GetString() == "Sort" && Nodes(n).Any(ReadsParticles)))
                    problems.Add($"{name}: sorts the particles it pages or exports (their order should come from an index)\n  {sql}\n{Indent(plan)}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    /// <summary>100 lots of two runs of 50 particles, some reviewed: enough rows for the planner to weigh an index against a scan.</summary>
    private static async Task FillAsync(SqlParticleStore store)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);
        string[] types = ["glass", "protein", "silicone_oil", "bubble"];
        for (int l = 0; l < Lots; l++)
        {
            string lot = $"LOT-{l:D4}";
            await store.SaveLotAsync(new LotRecord(lot, 1.0, $"product {l % 5}"));
            foreach (string instrument in new[] { "FC-1", "FC-2" })
            {
                string run = $"{lot}-{instrument}";
                await store.SaveRunAsync(new RunRecord(run, lot, instrument, 0.5, ParticlesPerRun, at.AddHours(l)));
                await store.AppendAsync([.. Enumerable.Range(0, ParticlesPerRun).Select(i => new ParticleRecord(run, $"p{i:D4}", lot, instrument,
                    new string('a', 64), 5 + i % 40, types[i % 4], 0.9, i % 7 == 0, i % 7 == 0 ? "below_threshold" : null, "set-1",
                    [new ModelVote("resnet50", "resnet50@1", [0.1f, 0.9f], types[i % 4])], null, at))]);
                await store.CompleteRunAsync(run, at.AddHours(l + 1));
            }
            await store.AppendReviewAsync($"{lot}-FC-1", "p0007", "Dr. QA", "glass", "edges are sharp", at);
        }
    }

    /// <summary>The SQL of every command the store sent during <paramref name="read"/>, from Npgsql's activity source.</summary>
    private static async Task<List<string>> StatementsOfAsync(Func<Task> read)
    {
        var statements = new List<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                // The tag's name follows OpenTelemetry's conventions: db.query.text now, db.statement before.
                if ((activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")) is string sql)
                    lock (statements) statements.Add(sql);
            },
        };
        ActivitySource.AddActivityListener(listener);
        await read();
        lock (statements) return [.. statements.Distinct()];
    }

    /// <summary>
    /// EXPLAIN of the plan PostgreSQL would cache for the statement prepared: its parameters ($1.. or @name) left as
    /// parameters, so the plan is the one for any lot or run, not for the values of this test.
    /// </summary>
    private static async Task<JsonDocument> GenericPlanAsync(NpgsqlConnection connection, string sql)
    {
        var names = new List<string>();
        string positional = Regex.Replace(sql, @"(?<![:@\w])@(\w+)", m =>
        {
            int index = names.IndexOf(m.Groups[1].Value);
            if (index < 0) { names.Add(m.Groups[1].Value); index = names.Count - 1; }
            return $"${index + 1}";
        });
        int parameters = Regex.Matches(positional, @"\$(\d+)").Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();
        await ExecuteAsync(connection, "SET plan_cache_mode = force_generic_plan");
        await ExecuteAsync(connection, $"PREPARE hot AS {positional}");
        try
        {
            string arguments = parameters == 0 ? "" : $"({string.Join(", ", Enumerable.Repeat("NULL", parameters))})";
            await using var explain = new NpgsqlCommand($"EXPLAIN (FORMAT JSON) EXECUTE hot{arguments}", connection);
            return JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!);
        }
        finally
        {
            await ExecuteAsync(connection, "DEALLOCATE hot");
        }
    }

    private static IEnumerable<JsonElement> Nodes(JsonElement node)
    {
        yield return node;
        if (!node.TryGetProperty("Plans", out var children)) yield break;
        foreach (var child in children.EnumerateArray())
            foreach (var descendant in Nodes(child)) yield return descendant;
    }

    private static bool ReadsParticles(JsonElement node) => node.TryGetProperty("Relation Name", out var table) && table.GetString() == "particles";

    private static string Indent(JsonDocument plan) =>
        string.Join('\n', Nodes(plan.RootElement[0].GetProperty("Plan")).Select(n =>
            $"    {n.GetProperty("Node Type").GetString()}{(n.TryGetProperty("Relation Name", out var t) ? " on " + t.GetString() : "")}" +
            $"{(n.TryGetProperty("Index Name", out var i) ? " using " + i.GetString() : "")}"));

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
