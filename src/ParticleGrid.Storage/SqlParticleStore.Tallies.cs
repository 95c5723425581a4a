using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using ParticleGrid.Domain;

namespace ParticleGrid.Storage;

/// <summary>
/// What lot profiles read, kept as particles are recorded and reviewed, in the same transaction: per lot the particles by
/// type, size class, uncertain and reviewed (<c>lot_tallies</c>, a <see cref="LotTally"/>), and per run and model set the
/// classified and unknown particles (<c>model_set_counts</c>, the domain-shift alarm's inputs). A profile then reads a
/// few dozen rows whatever the lot's size. The particles stay the source of truth: <see cref="CheckAggregatesAsync"/>
/// recounts both from them (<c>particlegrid store verify</c>) and can rewrite them (<c>store rebuild</c>).
/// </summary>
public sealed partial class SqlParticleStore
{
    /// <summary>particle_type is the label the profile counts (the reviewer's, else the vote) as stored, '' when there is none.</summary>
    private const string LotTalliesSchema = """
        CREATE TABLE lot_tallies (
            lot_id TEXT NOT NULL,
            particle_type TEXT NOT NULL,
            size_class INTEGER NOT NULL,
            uncertain INTEGER NOT NULL,
            reviewed INTEGER NOT NULL,
            particles BIGINT NOT NULL,
            PRIMARY KEY (lot_id, particle_type, size_class, uncertain, reviewed));
        """;

    /// <summary>By run as the domain-shift check counts it, with the lot so a lot's runs are one index range.</summary>
    private const string ModelSetCountsSchema = """
        CREATE TABLE model_set_counts (
            run_id TEXT NOT NULL,
            model_set_version TEXT NOT NULL,
            lot_id TEXT NOT NULL,
            classified BIGINT NOT NULL,
            unknown BIGINT NOT NULL,
            PRIMARY KEY (run_id, model_set_version, lot_id));
        CREATE INDEX model_set_counts_by_lot ON model_set_counts (lot_id);
        """;

    /// <summary>One row of lot_tallies without its count: a <see cref="LotTallyCell"/> with the type as stored.</summary>
    private readonly record struct StoredCell(string Lot, string Type, int SizeClass, bool Uncertain, bool Reviewed) : IComparable<StoredCell>
    {
        /// <summary>A particle as the profile counts it: <paramref name="label"/> is the reviewer's last label, null when none.</summary>
        public static StoredCell Of(string lot, string? vote, double? storedEcd, bool uncertain, string? label) =>
            new(lot, label ?? vote ?? "", LotTallyCell.SizeClassOf(storedEcd), label is null && uncertain, label is not null);

        // Writers touch rows in this order, so two transactions never wait for each other's rows crosswise.
        public int CompareTo(StoredCell other)
        {
            int c = string.CompareOrdinal(Lot, other.Lot);
            if (c == 0) c = string.CompareOrdinal(Type, other.Type);
            if (c == 0) c = SizeClass.CompareTo(other.SizeClass);
            if (c == 0) c = Uncertain.CompareTo(other.Uncertain);
            if (c == 0) c = Reviewed.CompareTo(other.Reviewed);
            return c;
        }

        public override string ToString() =>
            $"lot {Lot}: type '{Type}', size class {SizeClass}, {(Uncertain ? "uncertain" : "certain")}, {(Reviewed ? "reviewed" : "not reviewed")}";
    }

    /// <summary>One row of model_set_counts without its counts.</summary>
    private readonly record struct ModelSetKey(string Run, string ModelSet, string Lot)
    {
        public override string ToString() => $"run {Run}, model set {ModelSet} (lot {Lot})";
    }

    /// <summary>
    /// The diameter as the store will read it back. SQLite keeps no NaN (it stores NULL), and the tally must count what a
    /// recount from the particles would find.
    /// </summary>
    private static double? AsStored(DbConnection connection, double? ecd) => connection is SqliteConnection && ecd is double.NaN ? null : ecd;

    public async Task<LotTally> LotTallyAsync(string lotId, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        return await LotTallyAsync(connection, null, lotId, cancellation);
    }

    /// <summary>Adds what newly recorded particles change: their lots' cells, their runs' model-set counts (the append's transaction).</summary>
    private static async Task TallyAppendedAsync(DbConnection connection, DbTransaction transaction, IEnumerable<ParticleRecord> added, CancellationToken cancellation)
    {
        var cells = new SortedDictionary<StoredCell, long>();
        var sets = new SortedDictionary<ModelSetKey, (long Classified, long Unknown)>(
            Comparer<ModelSetKey>.Create((a, b) => string.CompareOrdinal($"{a.Run}\u001f{a.ModelSet}\u001f{a.Lot}", $"{b.Run}\u001f{b.ModelSet}\u001f{b.Lot}")));
        string unknown = ParticleTypes.FolderName(ParticleType.Unknown);
        foreach (var p in added)
        {
            // New particles have no review yet: a review needs its particle recorded first.
            var cell = StoredCell.Of(p.LotId, p.Type, AsStored(connection, p.EcdMicrometres), p.IsUncertain, label: null);
            cells[cell] = cells.GetValueOrDefault(cell) + 1;
            if (p.Failure is null && p.ModelSetVersion is not null)
            {
                var key = new ModelSetKey(p.RunId, p.ModelSetVersion, p.LotId);
                var (classified, unknowns) = sets.GetValueOrDefault(key);
                sets[key] = (classified + 1, unknowns + (p.Type == unknown ? 1 : 0));
            }
        }
        foreach (var (cell, count) in cells) await AddToLotTallyAsync(connection, transaction, cell, count, cancellation);
        foreach (var (key, (classified, unknowns)) in sets)
        {
            await ExecuteAsync(connection, transaction, """
                INSERT INTO model_set_counts (run_id, model_set_version, lot_id, classified, unknown) VALUES (@run, @set, @lot, @classified, @unknown)
                ON CONFLICT (run_id, model_set_version, lot_id)
                DO UPDATE SET classified = model_set_counts.classified + excluded.classified, unknown = model_set_counts.unknown + excluded.unknown
                """, cancellation,
                ("run", key.Run), ("set", key.ModelSet), ("lot", key.Lot), ("classified", classified), ("unknown", unknowns));
        }
    }

    /// <summary>Moves a reviewed particle from the cell it was counted in to its new one (the review's transaction).</summary>
    private static async Task TallyReviewAsync(DbConnection connection, DbTransaction transaction, ReviewedParticle before, string label, CancellationToken cancellation)
    {
        var p = before.Particle;
        var from = StoredCell.Of(p.LotId, p.Type, p.EcdMicrometres, p.IsUncertain, before.ReviewedLabel);
        var to = StoredCell.Of(p.LotId, p.Type, p.EcdMicrometres, p.IsUncertain, label);
        if (from == to) return;
        foreach (var (cell, delta) in new[] { (from, -1L), (to, 1L) }.OrderBy(c => c.Item1))
        {
            await AddToLotTallyAsync(connection, transaction, cell, delta, cancellation);
        }
    }

    private static async Task AddToLotTallyAsync(DbConnection connection, DbTransaction transaction, StoredCell cell, long delta, CancellationToken cancellation)
    {
        (string, object?)[] key = [("lot", cell.Lot), ("type", cell.Type), ("size", cell.SizeClass), ("uncertain", cell.Uncertain ? 1 : 0), ("reviewed", cell.Reviewed ? 1 : 0)];
        await ExecuteAsync(connection, transaction, """
            INSERT INTO lot_tallies (lot_id, particle_type, size_class, uncertain, reviewed, particles) VALUES (@lot, @type, @size, @uncertain, @reviewed, @delta)
            ON CONFLICT (lot_id, particle_type, size_class, uncertain, reviewed) DO UPDATE SET particles = lot_tallies.particles + excluded.particles
            """, cancellation, [.. key, ("delta", delta)]);
        // An empty cell is no row, so a tally compares with a recount row for row.
        if (delta < 0)
        {
            await ExecuteAsync(connection, transaction, """
                DELETE FROM lot_tallies
                WHERE lot_id = @lot AND particle_type = @type AND size_class = @size AND uncertain = @uncertain AND reviewed = @reviewed AND particles = 0
                """, cancellation, key);
        }
    }

    /// <summary>Every lot's cells counted from the particles and their reviews' last labels.</summary>
    private static async Task<SortedDictionary<StoredCell, long>> RecountLotTalliesAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellation)
    {
        var cells = new SortedDictionary<StoredCell, long>();
        await using var query = connection.CreateCommand();
        query.Transaction = transaction;
        query.CommandText = $"SELECT p.lot_id, p.particle_type, p.ecd_um, p.uncertain, {LatestLabel} FROM particles p";
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation))
        {
            var cell = StoredCell.Of(reader.GetString(0), NullableString(reader, 1), NullableDouble(reader, 2), Convert.ToInt32(reader.GetValue(3)) != 0,
                NullableString(reader, 4));
            cells[cell] = cells.GetValueOrDefault(cell) + 1;
        }
        return cells;
    }

    private static async Task<SortedDictionary<StoredCell, long>> StoredLotTalliesAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellation)
    {
        var cells = new SortedDictionary<StoredCell, long>();
        await using var query = connection.CreateCommand();
        query.Transaction = transaction;
        query.CommandText = "SELECT lot_id, particle_type, size_class, uncertain, reviewed, particles FROM lot_tallies";
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation))
        {
            cells[new StoredCell(reader.GetString(0), reader.GetString(1), Convert.ToInt32(reader.GetValue(2)), Convert.ToInt32(reader.GetValue(3)) != 0,
                Convert.ToInt32(reader.GetValue(4)) != 0)] = Convert.ToInt64(reader.GetValue(5));
        }
        return cells;
    }

    /// <summary>The same grouping the domain-shift check has always made over the particles (the vote, not a reviewer's label).</summary>
    private const string RecountModelSetCountsSql = """
        SELECT run_id, model_set_version, lot_id, COUNT(*), COALESCE(SUM(CASE WHEN particle_type = @unknown THEN 1 ELSE 0 END), 0)
        FROM particles WHERE failure IS NULL AND model_set_version IS NOT NULL
        GROUP BY run_id, model_set_version, lot_id
        """;

    private static async Task<Dictionary<ModelSetKey, (long Classified, long Unknown)>> ReadModelSetCountsAsync(DbConnection connection, DbTransaction transaction,
        bool recount, CancellationToken cancellation)
    {
        var counts = new Dictionary<ModelSetKey, (long, long)>();
        await using var query = connection.CreateCommand();
        query.Transaction = transaction;
        query.CommandText = recount ? RecountModelSetCountsSql : "SELECT run_id, model_set_version, lot_id, classified, unknown FROM model_set_counts";
        if (recount) Add(query, "unknown", ParticleTypes.FolderName(ParticleType.Unknown));
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation))
        {
            counts[new ModelSetKey(reader.GetString(0), reader.GetString(1), reader.GetString(2))] = (Convert.ToInt64(reader.GetValue(3)), Convert.ToInt64(reader.GetValue(4)));
        }
        return counts;
    }

    private static async Task RewriteLotTalliesAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellation)
    {
        var cells = await RecountLotTalliesAsync(connection, transaction, cancellation);
        await ExecuteAsync(connection, transaction, "DELETE FROM lot_tallies", cancellation);
        foreach (var (cell, count) in cells) await AddToLotTallyAsync(connection, transaction, cell, count, cancellation);
    }

    private static async Task RewriteModelSetCountsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellation)
    {
        await ExecuteAsync(connection, transaction, "DELETE FROM model_set_counts", cancellation);
        await ExecuteAsync(connection, transaction, $"INSERT INTO model_set_counts (run_id, model_set_version, lot_id, classified, unknown) {RecountModelSetCountsSql}",
            cancellation, ("unknown", ParticleTypes.FolderName(ParticleType.Unknown)));
    }

    /// <summary>
    /// Recounts every lot tally and model-set count from the particles and compares them with those kept, and every lot's
    /// kept row (its verdict too) with one judged on the recount by this store's settings; with <paramref name="rewrite"/>,
    /// then rewrites the kept ones from the recount and judges every lot again. Reads one snapshot: on PostgreSQL a
    /// repeatable-read transaction, in which each append and review is all there or not at all; a rewrite first locks the
    /// kept tables, so writers wait for it and add their particles on top of the recount.
    /// </summary>
    public async Task<AggregateCheck> CheckAggregatesAsync(bool rewrite, CancellationToken cancellation = default)
    {
        if (!rewrite)
        {
            await using var connection = await OpenAsync(cancellation);
            // SQLite: a deferred transaction reads one snapshot of the WAL without taking the writer's lock.
            await using DbTransaction transaction = connection is SqliteConnection sqlite
                ? sqlite.BeginTransaction(deferred: true)
                : await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellation);
            return await CompareAsync(connection, transaction, _verdictPolicy, _verdictFingerprint, cancellation);
        }
        AggregateCheck? check = null;
        await WriteAsync(async (connection, transaction) =>
        {
            if (connection is NpgsqlConnection)
            {
                // lot_aggregates first: every writer of a lot takes its row there before it touches a tally.
                await ExecuteAsync(connection, transaction, "LOCK TABLE lot_aggregates, lot_tallies, model_set_counts IN EXCLUSIVE MODE", cancellation);
            }
            check = await CompareAsync(connection, transaction, _verdictPolicy, _verdictFingerprint, cancellation);
            await RewriteLotTalliesAsync(connection, transaction, cancellation);
            await RewriteModelSetCountsAsync(connection, transaction, cancellation);
            await JudgeLotsAsync(connection, transaction, await AllLotIdsAsync(connection, transaction, cancellation), _verdictPolicy, _verdictFingerprint, cancellation);
            return 0;
        }, cancellation);
        return check!;
    }

    private static async Task<AggregateCheck> CompareAsync(DbConnection connection, DbTransaction transaction, VerdictPolicy policy, string configuration,
        CancellationToken cancellation)
    {
        var differences = new List<string>();
        var kept = await StoredLotTalliesAsync(connection, transaction, cancellation);
        var counted = await RecountLotTalliesAsync(connection, transaction, cancellation);
        foreach (var cell in kept.Keys.Union(counted.Keys).Order())
        {
            long k = kept.GetValueOrDefault(cell), c = counted.GetValueOrDefault(cell);
            if (k != c) differences.Add($"{cell}: kept {k}, counted {c}");
        }
        var keptSets = await ReadModelSetCountsAsync(connection, transaction, recount: false, cancellation);
        var countedSets = await ReadModelSetCountsAsync(connection, transaction, recount: true, cancellation);
        foreach (var key in keptSets.Keys.Union(countedSets.Keys).OrderBy(k => k.ToString(), StringComparer.Ordinal))
        {
            var k = keptSets.GetValueOrDefault(key);
            var c = countedSets.GetValueOrDefault(key);
            if (k != c) differences.Add($"{key}: kept {k.Classified} classified, {k.Unknown} unknown; counted {c.Classified}, {c.Unknown}");
        }
        await CompareKeptLotsAsync(connection, transaction, counted, countedSets, policy, configuration, differences, cancellation);
        int lots = counted.Keys.Select(cell => cell.Lot).Union(kept.Keys.Select(cell => cell.Lot)).Distinct().Count();
        return new AggregateCheck(lots, counted.Values.Sum(), differences);
    }
}
