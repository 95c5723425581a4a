using System.Data.Common;

namespace ParticleGrid.Storage;

/// <summary>
/// The one repair the ledger allows: before outages paused runs, a run that found no worker for 30 s, or met three
/// worker errors, recorded its particles as failed with that cause, for good, and a replay skipped them. Those rows
/// say nothing about the particles (their images were never looked at), so they may be taken out once and the
/// particles sent again (<c>ingest --retry-failed</c>). Content failures (an image that cannot be decoded) stay: they
/// are the particle's result.
/// </summary>
public sealed partial class SqlParticleStore
{
    /// <summary>
    /// How the run grain wrote an infrastructure failure, and only it: "not classified after N worker failure(s): ...".
    /// A content failure is the image decoder's message, which names the run and the particle ("run R particle P: ...").
    /// </summary>
    public const string InfrastructureFailurePrefix = "not classified after ";

    /// <summary>Whether a stored failure was the infrastructure's, not the particle's.</summary>
    public static bool IsInfrastructureFailure(string? failure) =>
        failure is not null && failure.StartsWith(InfrastructureFailurePrefix, StringComparison.Ordinal);

    /// <summary>
    /// Removes a run's particles recorded as failed for an infrastructure cause, in one transaction with the lot tallies
    /// and model-set counts they were counted in (the same cells the append added them to), so <c>store verify</c> finds
    /// no difference after it. A particle a reviewer has labelled stays: the audit trail names it.
    /// </summary>
    /// <returns>The particle ids removed, which the run has not recorded any more.</returns>
    public async Task<IReadOnlyList<string>> RemoveInfrastructureFailuresAsync(string runId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var removed = new List<ParticleRecord>();
        await WriteAsync(async (connection, transaction) =>
        {
            // The run's lot first, as every write that changes a lot's verdict inputs does (its failed count changes here).
            var lots = new List<string>();
            await using (var lotOfRun = connection.CreateCommand())
            {
                lotOfRun.Transaction = transaction;
                lotOfRun.CommandText = "SELECT lot_id FROM runs WHERE run_id = @run";
                Add(lotOfRun, "run", runId);
                if (await lotOfRun.ExecuteScalarAsync(cancellation) is string lot) lots.Add(lot);
            }
            await LockLotsAsync(connection, transaction, lots, cancellation);
            await using (var query = connection.CreateCommand())
            {
                query.Transaction = transaction;
                query.CommandText = $"""
                    SELECT {ParticleColumns} FROM particles p
                    WHERE p.run_id = @run AND p.failure LIKE @prefix
                      AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.run_id = p.run_id AND r.particle_id = p.particle_id)
                    ORDER BY p.particle_id
                    """;
                Add(query, "run", runId);
                Add(query, "prefix", InfrastructureFailurePrefix + "%");
                await using var reader = await query.ExecuteReaderAsync(cancellation);
                while (await reader.ReadAsync(cancellation))
                {
                    var particle = ReadParticle(reader);
                    // LIKE is case-insensitive on SQLite: the prefix is checked exactly here.
                    if (IsInfrastructureFailure(particle.Failure)) removed.Add(particle);
                }
            }
            foreach (var p in removed)
            {
                await ExecuteAsync(connection, transaction, "DELETE FROM particles WHERE run_id = @run AND particle_id = @particle", cancellation,
                    ("run", p.RunId), ("particle", p.ParticleId));
                await ExecuteAsync(connection, transaction, "DELETE FROM particle_images WHERE run_id = @run AND particle_id = @particle", cancellation,
                    ("run", p.RunId), ("particle", p.ParticleId));
            }
            await UntallyAsync(connection, transaction, removed, cancellation);
            await JudgeLotsAsync(connection, transaction, lots.Concat(removed.Select(p => p.LotId)), _verdictPolicy, _verdictFingerprint, cancellation);
            return removed.Count;
        }, cancellation);
        return [.. removed.Select(p => p.ParticleId)];
    }

    /// <summary>
    /// Takes removed particles out of the lot cells <see cref="TallyAppendedAsync"/> counted them in (the same cell of each:
    /// none has a review). They are not in model_set_counts: the append counts only particles without a failure there.
    /// </summary>
    private static async Task UntallyAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<ParticleRecord> removed, CancellationToken cancellation)
    {
        var cells = new SortedDictionary<StoredCell, long>();
        foreach (var p in removed)
        {
            var cell = StoredCell.Of(p.LotId, p.Type, AsStored(connection, p.EcdMicrometres), p.IsUncertain, label: null);
            cells[cell] = cells.GetValueOrDefault(cell) + 1;
        }
        foreach (var (cell, count) in cells) await AddToLotTallyAsync(connection, transaction, cell, -count, cancellation);
    }
}
