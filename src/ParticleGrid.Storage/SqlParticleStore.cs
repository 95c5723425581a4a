using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using ParticleGrid.Domain;

namespace ParticleGrid.Storage;

/// <summary>
/// The particle store over ADO.NET. One schema serves SQLite (embedded: a file under the data directory) and
/// PostgreSQL (cluster): plain types, times as Unix milliseconds, flags as 0/1, and "ON CONFLICT DO NOTHING" for
/// the append-only key.
/// </summary>
public sealed partial class SqlParticleStore : IParticleStore, IDisposable
{
    private const int IdsPerQuery = 500;
    private static readonly JsonSerializerOptions VotesJson = new(JsonSerializerDefaults.Web);

    private readonly Func<DbConnection> _connect;
    private readonly SemaphoreSlim? _singleWriter;
    private readonly string _description;
    private readonly VerdictPolicy _verdictPolicy;
    private readonly string _verdictFingerprint;
    private readonly bool _judgesAtStart;

    private SqlParticleStore(Func<DbConnection> connect, bool singleWriter, string description, VerdictPolicy? verdict)
    {
        _connect = connect;
        _singleWriter = singleWriter ? new SemaphoreSlim(1, 1) : null;
        _description = description;
        _verdictPolicy = verdict ?? new VerdictPolicy();
        _verdictFingerprint = VerdictFingerprint(_verdictPolicy);
        _judgesAtStart = verdict is not null;
    }

    /// <summary>A SQLite file (created when missing). SQLite has one writer at a time, so writes queue here.</summary>
    /// <param name="verdict">
    /// The site's verdict settings (ParticleGrid:Verdict): lots are judged by them as they change, and at start every lot
    /// judged by other settings is judged again. Null for a process that does not speak for the site (tokens, tests): it
    /// judges the lots it changes by the defaults and leaves the others as they are.
    /// </param>
    public static SqlParticleStore Sqlite(string path, VerdictPolicy? verdict = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
        return new SqlParticleStore(() => new SqliteConnection(connectionString), singleWriter: true, $"SQLite {path}", verdict);
    }

    /// <summary>A PostgreSQL database (the tables are created in the connection's default schema).</summary>
    /// <param name="verdict">As for <see cref="Sqlite"/>.</param>
    public static SqlParticleStore Postgres(string connectionString, VerdictPolicy? verdict = null) =>
        new(() => new NpgsqlConnection(connectionString), singleWriter: false,
            $"PostgreSQL {new NpgsqlConnectionStringBuilder(connectionString) { Password = null }.Host}", verdict);

    public override string ToString() => _description;

    public async Task<int> AppendAsync(IReadOnlyList<ParticleRecord> particles, CancellationToken cancellation = default, Action<ParticleRecord>? onAppended = null)
    {
        ArgumentNullException.ThrowIfNull(particles);
        if (particles.Count == 0) return 0;
        var added = new List<ParticleRecord>();
        int count = await WriteAsync(async (connection, transaction) =>
        {
            await LockLotsAsync(connection, transaction, particles.Select(p => p.LotId), cancellation);
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO particles (run_id, particle_id, lot_id, instrument_id, image_sha256, ecd_um, particle_type, probability,
                                       uncertain, uncertain_reason, model_set_version, votes_json, failure, recorded_unix_ms,
                                       size_source, area_um2, aspect_ratio, circularity, mean_intensity)
                VALUES (@run, @particle, @lot, @instrument, @sha, @ecd, @type, @probability,
                        @uncertain, @reason, @models, @votes, @failure, @recorded,
                        @sizesource, @area, @aspect, @circularity, @intensity)
                ON CONFLICT (run_id, particle_id) DO NOTHING
                """;
            await using var image = connection.CreateCommand();
            image.Transaction = transaction;
            image.CommandText = "INSERT INTO particle_images (run_id, particle_id, image) VALUES (@run, @particle, @image) ON CONFLICT (run_id, particle_id) DO NOTHING";
            int appended = 0;
            foreach (var p in particles)
            {
                insert.Parameters.Clear();
                Add(insert, "run", p.RunId);
                Add(insert, "particle", p.ParticleId);
                Add(insert, "lot", p.LotId);
                Add(insert, "instrument", p.InstrumentId);
                Add(insert, "sha", p.ImageSha256);
                Add(insert, "ecd", p.EcdMicrometres);
                Add(insert, "type", p.Type);
                Add(insert, "probability", p.Probability);
                Add(insert, "uncertain", p.IsUncertain ? 1 : 0);
                Add(insert, "reason", p.UncertainReason);
                Add(insert, "models", p.ModelSetVersion);
                Add(insert, "votes", JsonSerializer.Serialize(p.Votes, VotesJson));
                Add(insert, "failure", p.Failure);
                Add(insert, "recorded", p.RecordedUtc.ToUnixTimeMilliseconds());
                Add(insert, "sizesource", p.SizeSource);
                Add(insert, "area", p.Shape?.AreaSquareMicrometres);
                Add(insert, "aspect", p.Shape?.AspectRatio);
                Add(insert, "circularity", p.Shape?.Circularity);
                Add(insert, "intensity", p.Shape?.MeanIntensity);
                int inserted = await insert.ExecuteNonQueryAsync(cancellation);
                appended += inserted;
                if (inserted == 1) added.Add(p);
                if (inserted == 1 && p.Image is { Length: > 0 })
                {
                    image.Parameters.Clear();
                    Add(image, "run", p.RunId);
                    Add(image, "particle", p.ParticleId);
                    Add(image, "image", p.Image);
                    await image.ExecuteNonQueryAsync(cancellation);
                }
            }
            await TallyAppendedAsync(connection, transaction, added, cancellation);
            // Every lot locked above, not only those with new particles: a replay changes nothing, and judging it again
            // costs a few rows; a lot row inserted only to lock is never left as it was inserted.
            await JudgeLotsAsync(connection, transaction, particles.Select(p => p.LotId), _verdictPolicy, _verdictFingerprint, cancellation);
            return appended;
        }, cancellation);
        if (onAppended is not null) foreach (var p in added) onAppended(p);
        return count;
    }

    public async Task<IReadOnlySet<string>> StoredParticleIdsAsync(string runId, IReadOnlyCollection<string> particleIds, CancellationToken cancellation = default)
    {
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = await OpenAsync(cancellation);
        foreach (var chunk in particleIds.Distinct().Chunk(IdsPerQuery))
        {
            await using var query = connection.CreateCommand();
            var names = chunk.Select((id, i) => { Add(query, $"p{i}", id); return $"@p{i}"; });
            query.CommandText = $"SELECT particle_id FROM particles WHERE run_id = @run AND particle_id IN ({string.Join(',', names)})";
            Add(query, "run", runId);
            await using var reader = await query.ExecuteReaderAsync(cancellation);
            while (await reader.ReadAsync(cancellation)) stored.Add(reader.GetString(0));
        }
        return stored;
    }

    public async Task SaveRunAsync(RunRecord run, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        await WriteAsync(async (connection, transaction) =>
        {
            await LockLotsAsync(connection, transaction, [run.LotId], cancellation);
            int inserted = await ExecuteAsync(connection, transaction, """
                INSERT INTO runs (run_id, lot_id, instrument_id, analysed_volume_ml, expected_particles, started_unix_ms)
                VALUES (@run, @lot, @instrument, @volume, @expected, @started)
                ON CONFLICT (run_id) DO NOTHING
                """, cancellation,
                ("run", run.RunId), ("lot", run.LotId), ("instrument", run.InstrumentId), ("volume", run.AnalysedVolumeMl),
                ("expected", run.ExpectedParticles), ("started", run.StartedUtc.ToUnixTimeMilliseconds()));
            // A new run adds to the lot's runs (and to its runs in progress); the lot is judged again with it.
            // (Judged even when the run was there: a row this write inserted to lock the lot is never left as it was inserted.)
            await JudgeLotsAsync(connection, transaction, [run.LotId], _verdictPolicy, _verdictFingerprint, cancellation);
            return inserted;
        }, cancellation);

        var stored = await GetRunAsync(run.RunId, cancellation) ?? throw new InvalidOperationException($"Run {run.RunId} was not stored.");
        if (stored.LotId != run.LotId || stored.InstrumentId != run.InstrumentId || stored.AnalysedVolumeMl != run.AnalysedVolumeMl)
        {
            throw new StoreConflictException(
                $"Run {run.RunId} is already recorded for lot {stored.LotId} on instrument {stored.InstrumentId} " +
                $"(analysed volume {stored.AnalysedVolumeMl?.ToString() ?? "unknown"} mL); a run id names one run.");
        }
    }

    public async Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellation = default) =>
        (await QueryRunsAsync("run_id = @key", runId, cancellation)).SingleOrDefault();

    public async Task CompleteRunAsync(string runId, DateTimeOffset completedUtc, CancellationToken cancellation = default)
    {
        await WriteAsync(async (connection, transaction) =>
        {
            var lot = (await QueryAsync(connection, transaction, "SELECT lot_id FROM runs WHERE run_id = @run", [("run", runId)], reader => reader.GetString(0), cancellation))
                .SingleOrDefault();
            if (lot is null) return 0;
            await LockLotsAsync(connection, transaction, [lot], cancellation);
            int completed = await ExecuteAsync(connection, transaction, "UPDATE runs SET completed_unix_ms = @completed WHERE run_id = @run AND completed_unix_ms IS NULL", cancellation,
                ("run", runId), ("completed", completedUtc.ToUnixTimeMilliseconds()));
            // A completed run is final: the lot may become assessable.
            await JudgeLotsAsync(connection, transaction, [lot], _verdictPolicy, _verdictFingerprint, cancellation);
            return completed;
        }, cancellation);
    }

    public async Task<IReadOnlyList<RunRecord>> RunsOfLotAsync(string lotId, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        return await RunsOfLotAsync(connection, null, lotId, cancellation);
    }

    private async Task<IReadOnlyList<RunRecord>> QueryRunsAsync(string where, string key, CancellationToken cancellation) => await ReadAsync(
        $"SELECT {RunColumns} FROM runs WHERE {where} ORDER BY started_unix_ms, run_id", [("key", key)], ReadRun, cancellation);

    /// <summary>
    /// Describes a lot as a run does: values not yet set are recorded, the stored values again (or none) change nothing,
    /// and a different value for one already set is refused with <see cref="LotDescriptionLockedException"/> (only
    /// <see cref="ChangeLotAsync"/>, an admin's audited change, may do that). Decided here, so the HTTP and the Orleans
    /// paths (ingest --site and --cluster) are held to the same rule.
    /// </summary>
    public async Task SaveLotAsync(LotRecord lot, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(lot);
        await WriteAsync(async (connection, transaction) =>
        {
            await LockLotsAsync(connection, transaction, [lot.LotId], cancellation);
            var stored = await LockLotAsync(connection, transaction, lot.LotId, cancellation);
            var merged = LotDescriptionRule.Merge(stored.ContainerVolumeMl, stored.Product, lot.ContainerVolumeMl, lot.Product);
            if (merged.Changes.Count > 0) throw new LotDescriptionLockedException(lot.LotId, merged.Changes);
            int saved = await UpdateLotAsync(connection, transaction, lot.LotId, merged, cancellation);
            // The container volume decides the limits (per container or per mL); the product is what the list filters on.
            await JudgeLotsAsync(connection, transaction, [lot.LotId], _verdictPolicy, _verdictFingerprint, cancellation);
            return saved;
        }, cancellation);
    }

    /// <summary>
    /// An admin's change of a lot's container volume or product (a null keeps the stored value), with the reason, in the
    /// admin audit trail in the same transaction. Returns the lot as it now is; a change that changes nothing writes no entry.
    /// </summary>
    public async Task<LotRecord> ChangeLotAsync(LotRecord lot, Actor changedBy, string reason, DateTimeOffset at, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(lot);
        ArgumentNullException.ThrowIfNull(changedBy);
        if (string.IsNullOrWhiteSpace(reason)) throw new ArgumentException("a change of a lot needs a reason; it is audited");
        LotRecord? result = null;
        await WriteAsync(async (connection, transaction) =>
        {
            await LockLotsAsync(connection, transaction, [lot.LotId], cancellation);
            var stored = await LockLotAsync(connection, transaction, lot.LotId, cancellation);
            var merged = LotDescriptionRule.Merge(stored.ContainerVolumeMl, stored.Product, lot.ContainerVolumeMl, lot.Product);
            await UpdateLotAsync(connection, transaction, lot.LotId, merged, cancellation);
            await JudgeLotsAsync(connection, transaction, [lot.LotId], _verdictPolicy, _verdictFingerprint, cancellation);
            result = new LotRecord(lot.LotId, merged.ContainerVolumeMl, merged.Product);
            var changes = merged.Changes.ToList();
            if (stored.ContainerVolumeMl is null && merged.ContainerVolumeMl is { } v) changes.Add($"container volume set to {v} mL");
            if (stored.Product is null && merged.Product is { } p) changes.Add($"product set to '{p}'");
            if (changes.Count > 0)
                await AppendAdminAuditAsync(connection, transaction, changedBy, "lot changed", lot.LotId, $"{string.Join("; ", changes)}; reason: {reason.Trim()}", at, cancellation);
            return 1;
        }, cancellation);
        return result!;
    }

    /// <summary>The lot's row, made empty when missing, locked until the transaction ends (PostgreSQL; SQLite has one writer).</summary>
    private static async Task<LotRecord> LockLotAsync(DbConnection connection, DbTransaction transaction, string lotId, CancellationToken cancellation)
    {
        await ExecuteAsync(connection, transaction, "INSERT INTO lots (lot_id) VALUES (@lot) ON CONFLICT (lot_id) DO NOTHING", cancellation, ("lot", lotId));
        await using var query = connection.CreateCommand();
        query.Transaction = transaction;
        query.CommandText = "SELECT container_volume_ml, product FROM lots WHERE lot_id = @lot" + (connection is NpgsqlConnection ? " FOR UPDATE" : "");
        Add(query, "lot", lotId);
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        await reader.ReadAsync(cancellation);
        return new LotRecord(lotId, NullableDouble(reader, 0), NullableString(reader, 1));
    }

    private static Task<int> UpdateLotAsync(DbConnection connection, DbTransaction transaction, string lotId, LotDescriptionRule.Outcome lot,
        CancellationToken cancellation) =>
        ExecuteAsync(connection, transaction, "UPDATE lots SET container_volume_ml = @volume, product = @product WHERE lot_id = @lot", cancellation,
            ("lot", lotId), ("volume", lot.ContainerVolumeMl), ("product", lot.Product));

    public async Task<LotRecord?> GetLotAsync(string lotId, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        return await GetLotAsync(connection, null, lotId, cancellation);
    }

    public async Task<RunCounts> CountRunAsync(string runId, CancellationToken cancellation = default) => (await ReadAsync(
        """
        SELECT COUNT(*),
               COALESCE(SUM(CASE WHEN failure IS NULL THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(uncertain), 0),
               COALESCE(SUM(CASE WHEN failure IS NULL THEN 0 ELSE 1 END), 0)
        FROM particles WHERE run_id = @run
        """,
        [("run", runId)],
        reader => new RunCounts(Convert.ToInt32(reader.GetValue(0)), Convert.ToInt32(reader.GetValue(1)),
            Convert.ToInt32(reader.GetValue(2)), Convert.ToInt32(reader.GetValue(3))),
        cancellation)).Single();

    public async Task SaveModelSetReferenceAsync(string modelSetVersion, double? expectedUnknownShare, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelSetVersion);
        await WriteAsync(async (connection, transaction) =>
        {
            // Every lot with particles of this set is judged again (its runs' domain-shift alarm may change). On PostgreSQL
            // the table lock comes first, as the row locks come first in appends: a lot whose first particles of this set
            // are being appended now is then either in the list below or appended after this commits (and judged with it).
            if (connection is NpgsqlConnection) await ExecuteAsync(connection, transaction, "LOCK TABLE lot_aggregates IN EXCLUSIVE MODE", cancellation);
            var lots = await QueryAsync(connection, transaction, "SELECT DISTINCT lot_id FROM model_set_counts WHERE model_set_version = @set", [("set", modelSetVersion)],
                reader => reader.GetString(0), cancellation);
            await LockLotsAsync(connection, transaction, lots, cancellation);
            int saved = await ExecuteAsync(connection, transaction, """
                INSERT INTO model_set_references (model_set_version, expected_unknown_share, recorded_unix_ms) VALUES (@set, @share, @at)
                ON CONFLICT (model_set_version) DO UPDATE SET expected_unknown_share = excluded.expected_unknown_share, recorded_unix_ms = excluded.recorded_unix_ms
                """, cancellation,
                ("set", modelSetVersion), ("share", expectedUnknownShare), ("at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
            await JudgeLotsAsync(connection, transaction, lots, _verdictPolicy, _verdictFingerprint, cancellation);
            return saved;
        }, cancellation);
    }

    public Task<IReadOnlyList<DomainShiftCounts>> DomainShiftCountsOfRunAsync(string runId, CancellationToken cancellation = default) =>
        DomainShiftCountsAsync("c.run_id = @key", runId, cancellation);

    public Task<IReadOnlyList<DomainShiftCounts>> DomainShiftCountsOfLotAsync(string lotId, CancellationToken cancellation = default) =>
        DomainShiftCountsAsync("c.lot_id = @key", lotId, cancellation);

    private async Task<IReadOnlyList<DomainShiftCounts>> DomainShiftCountsAsync(string where, string key, CancellationToken cancellation)
    {
        await using var connection = await OpenAsync(cancellation);
        return await DomainShiftCountsAsync(connection, null, where, key, cancellation);
    }


    // Recounts from the particles: what the kept tallies are checked against (LotTallyAsync is what profiles read).
    // A reviewer's label replaces the vote, and a reviewed particle is no longer uncertain.
    public async Task<IReadOnlyList<CountedParticle>> CountedParticlesOfLotAsync(string lotId, CancellationToken cancellation = default) => await ReadAsync(
        $"SELECT COALESCE({LatestLabel}, p.particle_type), p.ecd_um, p.uncertain, {LatestLabel} FROM particles p WHERE p.lot_id = @lot",
        [("lot", lotId)],
        reader =>
        {
            ParticleType? type = !reader.IsDBNull(0) && ParticleTypes.TryParse(reader.GetString(0), out var t) ? t : null;
            bool reviewed = !reader.IsDBNull(3);
            return new CountedParticle(type, NullableDouble(reader, 1), !reviewed && Convert.ToInt32(reader.GetValue(2)) != 0, reviewed);
        },
        cancellation);

    public async Task<IReadOnlyList<ParticleRecord>> ParticlesOfRunAsync(string runId, CancellationToken cancellation = default) => await ReadAsync(
        $"SELECT {ParticleColumns} FROM particles p WHERE p.run_id = @run ORDER BY p.particle_id", [("run", runId)], ReadParticle, cancellation);

    /// <summary>The columns <see cref="ReadParticle"/> reads, in its order (alias p for particles).</summary>
    private const string ParticleColumns = """
        p.run_id, p.particle_id, p.lot_id, p.instrument_id, p.image_sha256, p.ecd_um, p.particle_type, p.probability,
        p.uncertain, p.uncertain_reason, p.model_set_version, p.votes_json, p.failure, p.recorded_unix_ms,
        p.size_source, p.area_um2, p.aspect_ratio, p.circularity, p.mean_intensity
        """;

    private static ParticleRecord ReadParticle(DbDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
        NullableDouble(reader, 5), NullableString(reader, 6), NullableDouble(reader, 7), Convert.ToInt32(reader.GetValue(8)) != 0,
        NullableString(reader, 9), NullableString(reader, 10),
        JsonSerializer.Deserialize<List<ModelVote>>(reader.GetString(11), VotesJson) ?? [],
        NullableString(reader, 12), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(13)),
        NullableString(reader, 14),
        ParticleShape.Of(NullableDouble(reader, 15), NullableDouble(reader, 16), NullableDouble(reader, 17), NullableDouble(reader, 18)));

    public void Dispose() => _singleWriter?.Dispose();

    /// <summary>Runs a write in a transaction; on SQLite one writer at a time (it would answer "database is locked" otherwise).</summary>
    private async Task<int> WriteAsync(Func<DbConnection, DbTransaction, Task<int>> write, CancellationToken cancellation)
    {
        if (_singleWriter is not null) await _singleWriter.WaitAsync(cancellation);
        try
        {
            await using var connection = await OpenAsync(cancellation);
            await using var transaction = await connection.BeginTransactionAsync(cancellation);
            int result = await write(connection, transaction);
            await transaction.CommitAsync(cancellation);
            return result;
        }
        finally
        {
            _singleWriter?.Release();
        }
    }

    private async Task<DbConnection> OpenAsync(CancellationToken cancellation)
    {
        var connection = _connect();
        await connection.OpenAsync(cancellation);
        if (connection is SqliteConnection)
        {
            await ExecuteAsync(connection, "PRAGMA busy_timeout=30000;", cancellation);
        }
        return connection;
    }

    /// <summary>
    /// One read on a connection of its own: the SQL with its named parameters, each row made into a <typeparamref name="T"/>.
    /// Opening the connection, the command and the reader are the same for every read; the SQL and the mapping differ.
    /// </summary>
    private async Task<List<T>> ReadAsync<T>(string sql, IEnumerable<(string Name, object? Value)> parameters, Func<DbDataReader, T> row,
        CancellationToken cancellation)
    {
        await using var connection = await OpenAsync(cancellation);
        return await QueryAsync(connection, null, sql, parameters, row, cancellation);
    }

    /// <summary>One statement of a write, in the write's transaction, with its named parameters; the rows it changed.</summary>
    private static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellation,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) Add(command, name, value);
        return await command.ExecuteNonQueryAsync(cancellation);
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellation)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellation);
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        if (value is null && parameter is NpgsqlParameter npgsql) npgsql.NpgsqlDbType = name switch
        {
            "ecd" or "probability" or "volume" or "area" or "aspect" or "circularity" or "intensity" or "share" => NpgsqlTypes.NpgsqlDbType.Double,
            "expected" => NpgsqlTypes.NpgsqlDbType.Integer,
            "expires" or "first" or "last" => NpgsqlTypes.NpgsqlDbType.Bigint,
            "image" => NpgsqlTypes.NpgsqlDbType.Bytea,
            _ => NpgsqlTypes.NpgsqlDbType.Text,
        };
        command.Parameters.Add(parameter);
    }

    private static double? NullableDouble(DbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetDouble(column);

    private static string? NullableString(DbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);
}
