using ParticleGrid.Abstractions;
using ParticleGrid.Domain;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>Synthetic particles for a run, in batches, as an instrument's export would deliver them.</summary>
public static class SimulatedInstrument
{
    public static IReadOnlyList<ParticleImage> Particles(string prefix, int count, int seed)
    {
        var types = ParticleTypes.StudyTypes;
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var (png, ecd) = TinyModels.Particle(types[i % types.Count], seed * 10_000 + i);
            return new ParticleImage($"{prefix}{i:D5}", png, ecd);
        })];
    }

    /// <summary>Sends every batch of a run, <paramref name="inFlight"/> at a time, and returns the receipts.</summary>
    public static async Task<IReadOnlyList<BatchReceipt>> SubmitAsync(IInstrumentRunGrain run, IReadOnlyList<ParticleImage> particles, int batchSize, int inFlight = 2,
        Action<BatchReceipt>? onReceipt = null)
    {
        var batches = particles.Chunk(batchSize).Select((chunk, i) => (Id: $"batch-{i:D4}", Particles: chunk)).ToList();
        var receipts = new List<BatchReceipt>();
        using var gate = new SemaphoreSlim(inFlight);
        await Task.WhenAll(batches.Select(async batch =>
        {
            await gate.WaitAsync();
            try
            {
                var receipt = await run.SubmitBatch(batch.Id, batch.Particles);
                lock (receipts) receipts.Add(receipt);
                onReceipt?.Invoke(receipt);
            }
            finally
            {
                gate.Release();
            }
        }));
        return receipts;
    }
}
