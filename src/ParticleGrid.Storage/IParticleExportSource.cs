namespace ParticleGrid.Storage;

/// <summary>
/// A lot's rows read one at a time, for exports that are written to the response as they are read: the server's
/// memory stays the same whatever the lot's size (issue 16). Apart from <see cref="IParticleStore"/>, whose reads
/// return whole lists, so that the exports need nothing else of the store.
/// </summary>
/// <remarks>
/// Each enumeration holds one connection and one reader open until it ends or is disposed; on SQLite that is a read
/// transaction, which writers (WAL) do not wait for.
/// </remarks>
public interface IParticleExportSource
{
    /// <summary>
    /// Every particle of a lot with the label a reviewer last gave it, in (run, particle) order: the order of the lot's
    /// particle pages.
    /// </summary>
    IAsyncEnumerable<ReviewedParticle> ParticlesOfLotAsync(string lotId, CancellationToken cancellation = default);

    /// <summary>
    /// A lot's reviewed particles with their images as received: each particle's latest review, in the order of its
    /// first review. A particle whose image is not stored is left out (a training set needs the pixels).
    /// </summary>
    IAsyncEnumerable<ReviewedImage> ReviewedImagesOfLotAsync(string lotId, CancellationToken cancellation = default);
}

/// <summary>A particle's latest review and its image as received.</summary>
public sealed record ReviewedImage(ReviewEntry Review, byte[] Image);
