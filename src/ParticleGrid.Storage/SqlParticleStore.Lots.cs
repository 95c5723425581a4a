using System.Data;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using ParticleGrid.Domain;

namespace ParticleGrid.Storage;

/// <summary>
/// Lots as the lot list reads them: one row per lot in <c>lot_aggregates</c> with its product, runs, particles, first and
/// last run, and its verdict (outcome, reasons, when it was judged, and the fingerprint of the settings that judged it).
/// <para>
/// The row is written in the transaction of every change to what the verdict is judged on: particles appended, a review,
/// a run started or completed, the lot's volume or product, a model set's domain-shift reference. Each such transaction
/// first locks the rows of the lots it changes (in lot order, before anything else, so two writers never wait for each
/// other crosswise), then judges the lot from its aggregates after its own change: on PostgreSQL the next writer of the
/// lot waits for the lock and then reads what this one committed, so the last verdict written is judged on everything.
/// </para>
/// <para>
/// The settings are configuration (ParticleGrid:Verdict), so they change without any row changing: a store opened with
/// settings whose fingerprint differs from a lot's judges that lot again when it starts (<see cref="EnsureCreatedAsync"/>),
/// from the aggregates alone. <c>store verify</c> recomputes every row from the particles; <c>store rebuild</c> rewrites them.
/// </para>
/// </summary>
public sealed partial class SqlParticleStore
{
    /// <summary>
    /// The defaults only make the row a writer inserts to lock a lot valid; it is judged before that transaction commits,
    /// so no reader sees them. recent_unix_ms is the list's order: the last run's start, 0 for a lot without runs.
    /// </summary>
    private const string LotAggregatesSchema = """
        CREATE TABLE lot_aggregates (
            lot_id TEXT PRIMARY KEY,
            product TEXT NULL,
            container_volume_ml DOUBLE PRECISION NULL,
            runs INTEGER NOT NULL DEFAULT 0,
            runs_in_progress INTEGER NOT NULL DEFAULT 0,
            particles BIGINT NOT NULL DEFAULT 0,
            first_run_unix_ms BIGINT NULL,
            last_run_unix_ms BIGINT NULL,
            recent_unix_ms BIGINT NOT NULL DEFAULT 0,
            verdict TEXT NOT NULL DEFAULT 'NotAssessable',
            verdict_reasons TEXT NOT NULL DEFAULT '[]',
            verdict_computed_unix_ms BIGINT NOT NULL DEFAULT 0,
            verdict_configuration TEXT NOT NULL DEFAULT '');
        CREATE INDEX lot_aggregates_by_recent ON lot_aggregates (recent_unix_ms, lot_id);
        CREATE INDEX lot_aggregates_by_verdict ON lot_aggregates (verdict, recent_unix_ms, lot_id);
        CREATE INDEX model_set_counts_by_set ON model_set_counts (model_set_version, lot_id);
        """;

    /// <summary>
    /// Bumped when the verdict's rules change in code (CompendialLimits, LotProfiles), so that every lot is judged again at
    /// the next start as it is when the settings change.
    /// </summary>
    private const int VerdictRulesVersion = 1;

    private static readonly JsonSerializerOptions ReasonsJson = new(JsonSerializerDefaults.Web);

    /// <summary>The settings' fingerprint: SHA-256 over the rules' version and the settings as JSON, 16 hex digits.</summary>
    public static string VerdictFingerprint(VerdictPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        string text = $"{VerdictRulesVersion}\n{JsonSerializer.Serialize(policy)}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    public VerdictPolicy VerdictPolicy => _verdictPolicy;

    /// <summary>One kept row as it is compared (when it was judged aside): what <see cref="KeptLot.Of"/> makes and the table holds.</summary>
    private sealed record KeptLot(string LotId, string? Product, double? ContainerVolumeMl, int Runs, int RunsInProgress, long Particles,
        long? FirstRunUnixMs, long? LastRunUnixMs, string Verdict, string Reasons, string Configuration)
    {
        public static KeptLot Of(LotInputs inputs, VerdictPolicy policy, string configuration)
        {
            var profile = inputs.Profile(policy);
            var runs = inputs.Runs;
            return new KeptLot(inputs.LotId, inputs.Lot?.Product, inputs.Lot?.ContainerVolumeMl, runs.Count, profile.RunsInProgress, profile.Particles,
                runs.Count == 0 ? null : runs.Min(r => r.StartedUtc.ToUnixTimeMilliseconds()),
                runs.Count == 0 ? null : runs.Max(r => r.StartedUtc.ToUnixTimeMilliseconds()),
                profile.Verdict.Outcome.ToString(), JsonSerializer.Serialize(profile.Verdict.Reasons, ReasonsJson), configuration);
        }

        /// <summary>The fields in which this row and <paramref name="other"/> differ, "name kept X, recomputed Y".</summary>
        public IEnumerable<string> Differences(KeptLot other)
        {
            (string Name, object? Kept, object? Recomputed)[] fields =
            [
                ("product", Product, other.Product), ("container volume", ContainerVolumeMl, other.ContainerVolumeMl), ("runs", Runs, other.Runs),
                ("runs in progress", RunsInProgress, other.RunsInProgress), ("particles", Particles, other.Particles),
                ("first run", FirstRunUnixMs, other.FirstRunUnixMs), ("last run", LastRunUnixMs, other.LastRunUnixMs),
                ("verdict", Verdict, other.Verdict), ("verdict reasons", Reasons, other.Reasons), ("verdict settings", Configuration, other.Configuration),
            ];
            return fields.Where(f => !Equals(f.Kept, f.Recomputed)).Select(f => $"{f.Name} kept {f.Kept ?? "none"}, recomputed {f.Recomputed ?? "none"}");
        }
    }

    // Reads inside a write's (or a snapshot's) transaction. The public reads of runs, lots, tallies and shift counts use
    // the same statements, so a profile served and a verdict kept are judged on rows read alike.

    /// <summary>One statement's rows, on the caller's connection and transaction.</summary>
    private static async Task<List<T>> QueryAsync<T>(DbConnection connection, DbTransaction? transaction, string sql,
        IEnumerable<(string Name, object? Value)> parameters, Func<DbDataReader, T> row, CancellationToken cancellation)
    {
        await using var query = connection.CreateCommand();
        query.Transaction = transaction;
        query.CommandText = sql;
        foreach (var (name, value) in parameters) Add(query, name, value);
        var rows = new List<T>();
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation)) rows.Add(row(reader));
        return rows;
    }

    private const string RunColumns = "run_id, lot_id, instrument_id, analysed_volume_ml, expected_particles, started_unix_ms, completed_unix_ms";

    private static RunRecord ReadRun(DbDataReader reader) => new(reader.GetString(0), reader.GetString(1), reader.GetString(2), NullableDouble(reader, 3),
        reader.IsDBNull(4) ? null : Convert.ToInt32(reader.GetValue(4)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
        reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));

    private static LotRecord ReadLot(DbDataReader reader) => new(reader.GetString(0), NullableDouble(reader, 1), NullableString(reader, 2));

    private static Task<List<RunRecord>> RunsOfLotAsync(DbConnection connection, DbTransaction? transaction, string lotId, CancellationToken cancellation) =>
        QueryAsync(connection, transaction, $"SELECT {RunColumns} FROM runs WHERE lot_id = @key ORDER BY started_unix_ms, run_id", [("key", lotId)], ReadRun, cancellation);

    private static async Task<LotRecord?> GetLotAsync(DbConnection connection, DbTransaction? transaction, string lotId, CancellationToken cancellation) =>
        (await QueryAsync(connection, transaction, "SELECT lot_id, container_volume_ml, product FROM lots WHERE lot_id = @lot", [("lot", lotId)], ReadLot, cancellation))
        .SingleOrDefault();

    private static async Task<LotTally> LotTallyAsync(DbConnection connection, DbTransaction? transaction, string lotId, CancellationToken cancellation)
    {
        var tally = new LotTally();
        foreach (var (cell, count) in await QueryAsync(connection, transaction,
            "SELECT particle_type, size_class, uncertain, reviewed, particles FROM lot_tallies WHERE lot_id = @lot",
            [("lot", lotId)],
            reader => (Cell: new StoredCell(lotId, reader.GetString(0), Convert.ToInt32(reader.GetValue(1)), Convert.ToInt32(reader.GetValue(2)) != 0,
                Convert.ToInt32(reader.GetValue(3)) != 0), Count: Convert.ToInt64(reader.GetValue(4))),
            cancellation))
        {
            AddToTally(tally, cell, count);
        }
        return tally;
    }

    /// <summary>A kept cell into a tally: a label that names no type counts as unclassified, as it always has; two spellings of one type add up.</summary>
    private static void AddToTally(LotTally tally, StoredCell cell, long count)
    {
        ParticleType? type = ParticleTypes.TryParse(cell.Type, out var t) ? t : null;
        tally.Add(new LotTallyCell(type, cell.SizeClass, cell.Uncertain, cell.Reviewed), checked((int)count));
    }

    /// <summary>
    /// Per run and model set, the classified and unknown particles with the set's reference, as kept with each append
    /// (model_set_counts), so a run is compared after every batch without reading its particles. The vote's type, not a
    /// reviewer's label, counts.
    /// </summary>
    private static Task<List<DomainShiftCounts>> DomainShiftCountsAsync(DbConnection connection, DbTransaction? transaction, string where, string key,
        CancellationToken cancellation) => QueryAsync(connection, transaction,
        $"""
        SELECT c.run_id, c.model_set_version, SUM(c.classified), SUM(c.unknown), MAX(r.expected_unknown_share)
        FROM model_set_counts c LEFT JOIN model_set_references r ON r.model_set_version = c.model_set_version
        WHERE {where}
        GROUP BY c.run_id, c.model_set_version
        ORDER BY c.run_id, c.model_set_version
        """,
        [("key", key)],
        reader => new DomainShiftCounts(reader.GetString(0), reader.GetString(1), Convert.ToInt32(reader.GetValue(2)),
            Convert.ToInt32(reader.GetValue(3)), NullableDouble(reader, 4)),
        cancellation);

    /// <summary>What a lot is judged on, or null when the store knows nothing of it (no run, no description).</summary>
    private static async Task<LotInputs?> LotInputsAsync(DbConnection connection, DbTransaction? transaction, string lotId, CancellationToken cancellation)
    {
        var runs = await RunsOfLotAsync(connection, transaction, lotId, cancellation);
        var lot = await GetLotAsync(connection, transaction, lotId, cancellation);
        if (runs.Count == 0 && lot is null) return null;
        return new LotInputs(lotId, lot, runs, await LotTallyAsync(connection, transaction, lotId, cancellation),
            await DomainShiftCountsAsync(connection, transaction, "c.lot_id = @key", lotId, cancellation));
    }

    public async Task<LotInputs?> LotInputsAsync(string lotId, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        await using var transaction = await BeginSnapshotAsync(connection, cancellation);
        return await LotInputsAsync(connection, transaction, lotId, cancellation);
    }

    /// <summary>
    /// A read-only transaction that sees one state of the store: on PostgreSQL repeatable read, on SQLite a deferred
    /// transaction (one snapshot of the WAL, without the writer's lock).
    /// </summary>
    private static async Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellation) =>
        connection is SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: true)
            : await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellation);

    // Writing the kept rows.

    /// <summary>
    /// Takes the lots' rows for this transaction, inserting any that are missing (a new lot), in lot order: the first thing a
    /// write that changes a lot does, so that it judges the lot on everything committed before it.
    /// </summary>
    private static async Task LockLotsAsync(DbConnection connection, DbTransaction transaction, IEnumerable<string> lotIds, CancellationToken cancellation)
    {
        foreach (var lot in lotIds.Distinct().Order(StringComparer.Ordinal))
        {
            await ExecuteAsync(connection, transaction,
                "INSERT INTO lot_aggregates (lot_id) VALUES (@lot) ON CONFLICT (lot_id) DO UPDATE SET lot_id = excluded.lot_id", cancellation, ("lot", lot));
        }
    }

    /// <summary>Judges the lots from their aggregates as this transaction leaves them and writes their rows (a lot the store no longer knows loses its row).</summary>
    private static async Task JudgeLotsAsync(DbConnection connection, DbTransaction transaction, IEnumerable<string> lotIds, VerdictPolicy policy,
        string configuration, CancellationToken cancellation)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var lot in lotIds.Distinct().Order(StringComparer.Ordinal))
        {
            var inputs = await LotInputsAsync(connection, transaction, lot, cancellation);
            if (inputs is null)
            {
                await ExecuteAsync(connection, transaction, "DELETE FROM lot_aggregates WHERE lot_id = @lot", cancellation, ("lot", lot));
                continue;
            }
            var kept = KeptLot.Of(inputs, policy, configuration);
            await ExecuteAsync(connection, transaction, """
                INSERT INTO lot_aggregates (lot_id, product, container_volume_ml, runs, runs_in_progress, particles, first_run_unix_ms, last_run_unix_ms,
                                            recent_unix_ms, verdict, verdict_reasons, verdict_computed_unix_ms, verdict_configuration)
                VALUES (@lot, @product, @volume, @runs, @inprogress, @particles, @first, @last, @recent, @verdict, @reasons, @computed, @configuration)
                ON CONFLICT (lot_id) DO UPDATE SET product = excluded.product, container_volume_ml = excluded.container_volume_ml, runs = excluded.runs,
                    runs_in_progress = excluded.runs_in_progress, particles = excluded.particles, first_run_unix_ms = excluded.first_run_unix_ms,
                    last_run_unix_ms = excluded.last_run_unix_ms, recent_unix_ms = excluded.recent_unix_ms, verdict = excluded.verdict,
                    verdict_reasons = excluded.verdict_reasons, verdict_computed_unix_ms = excluded.verdict_computed_unix_ms,
                    verdict_configuration = excluded.verdict_configuration
                """, cancellation,
                ("lot", lot), ("product", kept.Product), ("volume", kept.ContainerVolumeMl), ("runs", kept.Runs), ("inprogress", kept.RunsInProgress),
                ("particles", kept.Particles), ("first", kept.FirstRunUnixMs), ("last", kept.LastRunUnixMs), ("recent", kept.LastRunUnixMs ?? 0),
                ("verdict", kept.Verdict), ("reasons", kept.Reasons), ("computed", now), ("configuration", kept.Configuration));
        }
    }

    /// <summary>Every lot the store knows of (runs, descriptions), kept rows and tallies included (so that one left over shows).</summary>
    private static Task<List<string>> AllLotIdsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellation) =>
        QueryAsync(connection, transaction, """
            SELECT lot_id FROM runs UNION SELECT lot_id FROM lots UNION SELECT lot_id FROM lot_aggregates UNION SELECT lot_id FROM lot_tallies
            """, [], reader => reader.GetString(0), cancellation);

    /// <summary>Migration 4's back-fill: every lot judged by the default settings; a site with others judges them again at its start.</summary>
    private static async Task BackFillLotAggregatesAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellation)
    {
        var policy = new VerdictPolicy();
        await JudgeLotsAsync(connection, transaction, await AllLotIdsAsync(connection, transaction, cancellation), policy, VerdictFingerprint(policy), cancellation);
    }

    /// <summary>Lots judged per transaction when the settings changed: short writes, so appends are not held up for the whole store.</summary>
    private const int LotsPerJudgement = 200;

    /// <summary>
    /// Judges again every lot whose verdict was judged by other settings (or other rules) than this store's, from its
    /// aggregates: no particle is read. Returns how many were judged.
    /// </summary>
    private async Task<int> JudgeLotsOfOtherSettingsAsync(CancellationToken cancellation)
    {
        int total = 0;
        while (true)
        {
            int judged = await WriteAsync(async (connection, transaction) =>
            {
                var lots = await QueryAsync(connection, transaction,
                    $"SELECT lot_id FROM lot_aggregates WHERE verdict_configuration <> @configuration ORDER BY lot_id LIMIT {LotsPerJudgement}",
                    [("configuration", _verdictFingerprint)], reader => reader.GetString(0), cancellation);
                await LockLotsAsync(connection, transaction, lots, cancellation);
                await JudgeLotsAsync(connection, transaction, lots, _verdictPolicy, _verdictFingerprint, cancellation);
                return lots.Count;
            }, cancellation);
            total += judged;
            if (judged < LotsPerJudgement) return total;
        }
    }

    // Reading the kept rows: the lot list.

    private const string LotSummaryColumns = """
        lot_id, product, container_volume_ml, runs, particles, first_run_unix_ms, last_run_unix_ms, verdict, verdict_reasons,
        runs_in_progress, verdict_computed_unix_ms, verdict_configuration
        """;

    private static LotSummary ReadLotSummary(DbDataReader reader)
    {
        DateTimeOffset? Time(int column) => reader.IsDBNull(column) ? null : DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(column)));
        return new LotSummary(reader.GetString(0), NullableString(reader, 1), NullableDouble(reader, 2), Convert.ToInt32(reader.GetValue(3)),
            Convert.ToInt32(reader.GetValue(4)), Time(5), Time(6), Enum.Parse<VerdictOutcome>(reader.GetString(7)),
            JsonSerializer.Deserialize<List<string>>(reader.GetString(8), ReasonsJson) ?? [], Convert.ToInt32(reader.GetValue(9)),
            Time(10)!.Value, reader.GetString(11));
    }

    public async Task<LotSummary?> LotSummaryAsync(string lotId, CancellationToken cancellation = default) => (await ReadAsync(
        $"SELECT {LotSummaryColumns} FROM lot_aggregates WHERE lot_id = @lot", [("lot", lotId)], ReadLotSummary, cancellation)).SingleOrDefault();

    /// <summary>
    /// A page of kept rows, most recent last run first (lot id descending between equals), after the cursor; the total
    /// counts every row the filter matches. Both from one snapshot. The page is an index range (recent_unix_ms, lot_id), so
    /// it costs the same however many lots follow it; the total counts rows of this one table, never a particle.
    /// </summary>
    public async Task<LotListPage> ListLotsAsync(LotListQuery query, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Limit);
        var conditions = new List<string>();
        var parameters = new List<(string Name, object? Value)>();
        if (query.Product is { Length: > 0 } product)
        {
            // Any case: both sides lowered; % and _ in the name are matched as themselves.
            string escaped = product.ToLowerInvariant().Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_");
            conditions.Add(@"LOWER(product) LIKE @product ESCAPE '\'");
            parameters.Add(("product", $"%{escaped}%"));
        }
        if (query.LastRunFrom is { } from)
        {
            conditions.Add("last_run_unix_ms >= @from");
            parameters.Add(("from", from.ToUnixTimeMilliseconds()));
        }
        if (query.FirstRunBefore is { } before)
        {
            conditions.Add("first_run_unix_ms < @before");
            parameters.Add(("before", before.ToUnixTimeMilliseconds()));
        }
        if (query.Verdict is { } verdict)
        {
            conditions.Add("verdict = @verdict");
            parameters.Add(("verdict", verdict.ToString()));
        }
        string filter = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);

        await using var connection = await OpenAsync(cancellation);
        await using var transaction = await BeginSnapshotAsync(connection, cancellation);
        int total = Convert.ToInt32((await QueryAsync(connection, transaction, $"SELECT COUNT(*) FROM lot_aggregates {filter}", parameters,
            reader => reader.GetValue(0), cancellation)).Single());
        if (query.Limit == 0) return new LotListPage(total, [], null);

        var pageConditions = new List<string>(conditions);
        var pageParameters = new List<(string Name, object? Value)>(parameters);
        if (query.After is { } after)
        {
            pageConditions.Add("(recent_unix_ms, lot_id) < (@afterrecent, @afterlot)");
            pageParameters.Add(("afterrecent", after.RecentUnixMs));
            pageParameters.Add(("afterlot", after.LotId));
        }
        string pageFilter = pageConditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", pageConditions);
        // One row more than the page says whether a next page exists, so the last page has no cursor.
        var lots = await QueryAsync(connection, transaction,
            $"SELECT {LotSummaryColumns} FROM lot_aggregates {pageFilter} ORDER BY recent_unix_ms DESC, lot_id DESC LIMIT {query.Limit + 1}",
            pageParameters, ReadLotSummary, cancellation);
        LotKey? next = null;
        if (lots.Count > query.Limit)
        {
            lots.RemoveAt(lots.Count - 1);
            next = lots[^1].Key;
        }
        return new LotListPage(total, lots, next);
    }

    // store verify / rebuild.

    /// <summary>
    /// Compares every kept lot row with one recomputed from the particles' recount (<paramref name="countedCells"/>,
    /// <paramref name="countedSets"/>), the runs, the lots and the model sets' references, judged by this store's settings.
    /// </summary>
    private static async Task CompareKeptLotsAsync(DbConnection connection, DbTransaction transaction, SortedDictionary<StoredCell, long> countedCells,
        Dictionary<ModelSetKey, (long Classified, long Unknown)> countedSets, VerdictPolicy policy, string configuration, List<string> differences,
        CancellationToken cancellation)
    {
        var runs = (await QueryAsync(connection, transaction, $"SELECT {RunColumns} FROM runs ORDER BY started_unix_ms, run_id", [], ReadRun, cancellation))
            .ToLookup(r => r.LotId);
        var lots = (await QueryAsync(connection, transaction, "SELECT lot_id, container_volume_ml, product FROM lots", [], ReadLot, cancellation))
            .ToDictionary(l => l.LotId);
        var references = (await QueryAsync(connection, transaction, "SELECT model_set_version, expected_unknown_share FROM model_set_references", [],
            reader => (Set: reader.GetString(0), Share: NullableDouble(reader, 1)), cancellation)).ToDictionary(r => r.Set, r => r.Share);
        var kept = (await QueryAsync(connection, transaction,
            $"SELECT lot_id, product, container_volume_ml, runs, runs_in_progress, particles, first_run_unix_ms, last_run_unix_ms, verdict, verdict_reasons, verdict_configuration FROM lot_aggregates",
            [], reader => new KeptLot(reader.GetString(0), NullableString(reader, 1), NullableDouble(reader, 2), Convert.ToInt32(reader.GetValue(3)),
                Convert.ToInt32(reader.GetValue(4)), Convert.ToInt64(reader.GetValue(5)), reader.IsDBNull(6) ? null : Convert.ToInt64(reader.GetValue(6)),
                reader.IsDBNull(7) ? null : Convert.ToInt64(reader.GetValue(7)), reader.GetString(8), reader.GetString(9), reader.GetString(10)),
            cancellation)).ToDictionary(k => k.LotId);
        var cellsByLot = countedCells.GroupBy(c => c.Key.Lot).ToDictionary(g => g.Key);
        var setsByLot = countedSets.GroupBy(s => s.Key.Lot).ToDictionary(g => g.Key);

        var lotIds = runs.Select(g => g.Key).Union(lots.Keys).Union(kept.Keys).Union(cellsByLot.Keys).Distinct().Order(StringComparer.Ordinal);
        foreach (var lot in lotIds)
        {
            var lotRuns = runs[lot].ToList();
            lots.TryGetValue(lot, out var description);
            KeptLot? recomputed = null;
            if (lotRuns.Count > 0 || description is not null)
            {
                var tally = new LotTally();
                if (cellsByLot.TryGetValue(lot, out var cells)) foreach (var (cell, count) in cells) AddToTally(tally, cell, count);
                var shift = setsByLot.TryGetValue(lot, out var sets)
                    ? sets.GroupBy(s => (s.Key.Run, s.Key.ModelSet)).OrderBy(g => g.Key.Run, StringComparer.Ordinal).ThenBy(g => g.Key.ModelSet, StringComparer.Ordinal)
                        .Select(g => new DomainShiftCounts(g.Key.Run, g.Key.ModelSet, checked((int)g.Sum(s => s.Value.Classified)),
                            checked((int)g.Sum(s => s.Value.Unknown)), references.GetValueOrDefault(g.Key.ModelSet)))
                        .ToList()
                    : [];
                recomputed = KeptLot.Of(new LotInputs(lot, description, lotRuns, tally, shift), policy, configuration);
            }
            kept.TryGetValue(lot, out var row);
            if (row is null && recomputed is null) continue;
            if (row is null) differences.Add($"lot {lot}: no kept row; recomputed verdict {recomputed!.Verdict}");
            else if (recomputed is null) differences.Add($"lot {lot}: kept row with verdict {row.Verdict}, but the store knows no run or description of the lot");
            else differences.AddRange(row.Differences(recomputed).Select(d => $"lot {lot}: {d}"));
        }
    }
}
