using System.Data.Common;
using System.Runtime.CompilerServices;

namespace ParticleGrid.Storage;

/// <summary>
/// Streamed reads for exports: one query per export, its rows handed out as the reader reaches them, nothing
/// collected. Kept in a file of its own, beside the store's lists and pages, because it shares no code path with them
/// but the column lists and row readers.
/// </summary>
public sealed partial class SqlParticleStore : IParticleExportSource
{
    public async IAsyncEnumerable<ReviewedParticle> ParticlesOfLotAsync(string lotId, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        await using var query = connection.CreateCommand();
        // The same columns, label and order as a lot's particle pages, so an export lists what paging through them would.
        query.CommandText = $"SELECT {ParticleColumns}, {LatestLabel} FROM particles p WHERE p.lot_id = @lot ORDER BY p.run_id, p.particle_id";
        Add(query, "lot", lotId);
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation)) yield return new ReviewedParticle(ReadParticle(reader), NullableString(reader, 19));
    }

    public async IAsyncEnumerable<ReviewedImage> ReviewedImagesOfLotAsync(string lotId, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        await using var connection = await OpenAsync(cancellation);
        await using var query = connection.CreateCommand();
        // Per particle its last review (the label that stands) placed where its first review was: the order the
        // training set has always listed them in. Particles without a stored image drop out with the inner join.
        query.CommandText = """
            SELECT r.sequence, r.lot_id, r.run_id, r.particle_id, r.reviewer, r.at_unix_ms, r.previous_label, r.label, r.reason,
                   r.previous_hash, r.hash, i.image
            FROM (SELECT run_id, particle_id, MIN(sequence) AS first_sequence, MAX(sequence) AS last_sequence
                  FROM reviews WHERE lot_id = @lot GROUP BY run_id, particle_id) g
            JOIN reviews r ON r.sequence = g.last_sequence
            JOIN particle_images i ON i.run_id = g.run_id AND i.particle_id = g.particle_id
            ORDER BY g.first_sequence
            """;
        Add(query, "lot", lotId);
        await using var reader = await query.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation)) yield return new ReviewedImage(ReadReview(reader), (byte[])reader.GetValue(11));
    }

    /// <summary>A review entry from columns 0-10 in the order of the reviews table.</summary>
    private static ReviewEntry ReadReview(DbDataReader reader) => new(
        Convert.ToInt64(reader.GetValue(0)), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
        DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(5))), NullableString(reader, 6), reader.GetString(7), reader.GetString(8),
        reader.GetString(9), reader.GetString(10));
}
