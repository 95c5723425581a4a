using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ParticleGrid.Storage;

/// <summary>What QA reads and writes: lot lists, pages of particles, images, the review audit trail (tokens: SqlParticleStore.Tokens.cs).</summary>
public sealed partial class SqlParticleStore
{
    /// <summary>The label a reviewer last gave particle p, or NULL (a correlated subquery both databases run).</summary>
    private const string LatestLabel =
        "(SELECT r.label FROM reviews r WHERE r.run_id = p.run_id AND r.particle_id = p.particle_id ORDER BY r.sequence DESC LIMIT 1)";

    private const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    public Task<ParticlePage> QueryParticlesAsync(ParticleQuery q, CancellationToken cancellation = default) =>
        QueryPageAsync(q, after: null, cancellation);

    public async Task<ReviewedParticle?> GetParticleAsync(string runId, string particleId, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        return await GetParticleAsync(connection, null, runId, particleId, cancellation);
    }

    private static async Task<ReviewedParticle?> GetParticleAsync(DbConnection connection, DbTransaction? transaction, string runId, string particleId, CancellationToken cancellation)
    {
        await using var query = connection.CreateCommand();
        query.Transaction = transaction;
        query.CommandText = $"SELECT {ParticleColumns}, {LatestLabel} FROM particles p WHERE p.run_id = @run AND p.particle_id = @particle";
        Add(query, "run", runId);
        Add(query, "particle", particleId);
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        return await reader.ReadAsync(cancellation) ? new ReviewedParticle(ReadParticle(reader), NullableString(reader, 19)) : null;
    }

    public async Task<byte[]?> GetImageAsync(string runId, string particleId, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        await using var query = connection.CreateCommand();
        query.CommandText = "SELECT image FROM particle_images WHERE run_id = @run AND particle_id = @particle";
        Add(query, "run", runId);
        Add(query, "particle", particleId);
        return await query.ExecuteScalarAsync(cancellation) as byte[];
    }

    public async Task<ReviewEntry> AppendReviewAsync(string runId, string particleId, string reviewer, string label, string reason, DateTimeOffset at,
        string? reviewerTokenId = null, CancellationToken cancellation = default)
    {
        ReviewEntry? entry = null;
        await WriteAsync(async (connection, transaction) =>
        {
            // One writer extends the chain at a time (SQLite: the store's writer lock; PostgreSQL: a table lock).
            if (connection is NpgsqlConnection) await ExecuteAsync(connection, transaction, "LOCK TABLE reviews IN EXCLUSIVE MODE", cancellation);
            var particle = await GetParticleAsync(connection, transaction, runId, particleId, cancellation)
                ?? throw new KeyNotFoundException($"particle {particleId} of run {runId} is not recorded");
            await LockLotsAsync(connection, transaction, [particle.Particle.LotId], cancellation);
            await TallyReviewAsync(connection, transaction, particle, label, cancellation);
            // A label moves the particle between types and out of "uncertain" and "unknown": the lot is judged again.
            await JudgeLotsAsync(connection, transaction, [particle.Particle.LotId], _verdictPolicy, _verdictFingerprint, cancellation);

            long sequence = 1;
            string previousHash = GenesisHash;
            await using (var last = connection.CreateCommand())
            {
                last.Transaction = transaction;
                last.CommandText = "SELECT sequence, hash FROM reviews ORDER BY sequence DESC LIMIT 1";
                await using var reader = await last.ExecuteReaderAsync(cancellation);
                if (await reader.ReadAsync(cancellation))
                {
                    sequence = Convert.ToInt64(reader.GetValue(0)) + 1;
                    previousHash = reader.GetString(1);
                }
            }
            var at0 = DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds());
            entry = Chain(sequence, particle.Particle.LotId, runId, particleId, reviewer, at0, particle.EffectiveType, label, reason, previousHash, reviewerTokenId);

            return await ExecuteAsync(connection, transaction, """
                INSERT INTO reviews (sequence, lot_id, run_id, particle_id, reviewer, at_unix_ms, previous_label, label, reason, previous_hash, hash, reviewer_token_id)
                VALUES (@sequence, @lot, @run, @particle, @reviewer, @at, @previous, @label, @reason, @previoushash, @hash, @tokenid)
                """, cancellation, ("tokenid", entry.ReviewerTokenId),
                ("sequence", entry.Sequence), ("lot", entry.LotId), ("run", entry.RunId), ("particle", entry.ParticleId),
                ("reviewer", entry.Reviewer), ("at", entry.AtUtc.ToUnixTimeMilliseconds()), ("previous", entry.PreviousLabel),
                ("label", entry.Label), ("reason", entry.Reason), ("previoushash", entry.PreviousHash), ("hash", entry.Hash));
        }, cancellation);
        return entry!;
    }

    /// <summary>
    /// An entry with its hash: SHA-256 over the previous hash and every field, so nothing can change unseen. The
    /// reviewer's token id is hashed when there is one; entries written before it was kept have none, so their hashes
    /// are what they were.
    /// </summary>
    private static ReviewEntry Chain(long sequence, string lot, string run, string particle, string reviewer, DateTimeOffset at,
        string? previousLabel, string label, string reason, string previousHash, string? reviewerTokenId)
    {
        string content = string.Join('\u001f', previousHash, sequence, lot, run, particle, reviewer, at.ToUnixTimeMilliseconds(), previousLabel ?? "", label, reason);
        if (reviewerTokenId is not null) content += '\u001f' + reviewerTokenId;
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
        return new ReviewEntry(sequence, lot, run, particle, reviewer, at, previousLabel, label, reason, previousHash, hash, reviewerTokenId);
    }

    public async Task<IReadOnlyList<ReviewEntry>> ReviewsAsync(string? lotId, string? runId = null, string? particleId = null, CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        await using var query = connection.CreateCommand();
        var conditions = new List<string>();
        if (lotId is not null) { conditions.Add("lot_id = @lot"); Add(query, "lot", lotId); }
        if (runId is not null) { conditions.Add("run_id = @run"); Add(query, "run", runId); }
        if (particleId is not null) { conditions.Add("particle_id = @particle"); Add(query, "particle", particleId); }
        query.CommandText = "SELECT sequence, lot_id, run_id, particle_id, reviewer, at_unix_ms, previous_label, label, reason, previous_hash, hash, reviewer_token_id FROM reviews"
            + (conditions.Count > 0 ? " WHERE " + string.Join(" AND ", conditions) : "") + " ORDER BY sequence";
        var entries = new List<ReviewEntry>();
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation))
        {
            entries.Add(new ReviewEntry(Convert.ToInt64(reader.GetValue(0)), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(5))), NullableString(reader, 6), reader.GetString(7), reader.GetString(8),
                reader.GetString(9), reader.GetString(10), NullableString(reader, 11)));
        }
        return entries;
    }

    public async Task<AuditVerification> VerifyAuditTrailAsync(CancellationToken cancellation = default)
    {
        var entries = await ReviewsAsync(null, cancellation: cancellation);
        string previous = GenesisHash;
        long expected = 1;
        foreach (var e in entries)
        {
            if (e.Sequence != expected) return new AuditVerification(false, entries.Count, e.Sequence, $"entry {expected} is missing (the next is {e.Sequence})");
            if (e.PreviousHash != previous) return new AuditVerification(false, entries.Count, e.Sequence, $"entry {e.Sequence} does not follow the entry before it");
            var recomputed = Chain(e.Sequence, e.LotId, e.RunId, e.ParticleId, e.Reviewer, e.AtUtc, e.PreviousLabel, e.Label, e.Reason, e.PreviousHash, e.ReviewerTokenId);
            if (recomputed.Hash != e.Hash) return new AuditVerification(false, entries.Count, e.Sequence, $"entry {e.Sequence} was changed after it was written");
            previous = e.Hash;
            expected++;
        }
        return new AuditVerification(true, entries.Count, null, null);
    }
}
