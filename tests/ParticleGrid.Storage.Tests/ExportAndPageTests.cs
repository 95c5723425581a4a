using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Storage.Tests;

/// <summary>Issue 16's streamed exports and keyset pages read what the store's lists and offset pages read, on both databases.</summary>
public sealed class ExportAndPageTests : IAsyncLifetime
{
    private readonly ScratchDatabases _databases = new("export");

    public static TheoryData<string> Backends => ScratchDatabases.Backends;

    private Task<SqlParticleStore> OpenAsync(string backend) => _databases.OpenStoreAsync(backend);

    private static ParticleRecord Particle(string run, string lot, string id, string type, bool image = true) =>
        new(run, id, lot, "FC-1", new string('a', 64), 12, type, 0.9, false, null, "set-1",
            [new ModelVote("resnet50", "resnet50@1", [0.1f, 0.9f], type)], null, DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000),
            Image: image ? [0x89, 0x50, 0x4E, 0x47, (byte)id.Length, (byte)id[^1]] : null);

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public async Task A_lot_streams_and_pages_as_its_offset_pages_list_it(string backend)
    {
        using var store = await OpenAsync(backend);
        foreach (var (run, lot) in new[] { ("run-b", "LOT-1"), ("run-a", "LOT-1"), ("run-c", "LOT-2") })
        {
            await store.SaveRunAsync(new RunRecord(run, lot, "FC-1", 0.5, 5, DateTimeOffset.UtcNow));
            await store.AppendAsync([.. Enumerable.Range(0, 5).Select(i => Particle(run, lot, $"p{i}", i % 2 == 0 ? "glass" : "protein", image: i != 4))]);
        }
        var at = DateTimeOffset.UtcNow;
        await store.AppendReviewAsync("run-b", "p2", "Dr. QA", "protein", "first look", at);
        await store.AppendReviewAsync("run-a", "p1", "Dr. QA", "bubble", "round", at);
        await store.AppendReviewAsync("run-b", "p2", "Dr. QA", "bubble", "second look", at);
        await store.AppendReviewAsync("run-a", "p4", "Dr. QA", "glass", "no image stored", at);
        await store.AppendReviewAsync("run-c", "p0", "Dr. QA", "glass", "another lot", at);

        var paged = (await store.QueryParticlesAsync(new ParticleQuery(LotId: "LOT-1", Limit: 500))).Particles;
        Assert.Equal(10, paged.Count);
        var streamed = new List<ReviewedParticle>();
        await foreach (var p in store.ParticlesOfLotAsync("LOT-1")) streamed.Add(p);
        Assert.Equal(paged.Select(Key), streamed.Select(Key));
        Assert.Equal(paged.Select(p => p.ReviewedLabel), streamed.Select(p => p.ReviewedLabel));
        Assert.Equal(paged[0].Particle with { Votes = [] }, streamed[0].Particle with { Votes = [] });

        // Each particle's latest review, where its first review was; p4 has no image and is left out.
        var reviewed = new List<ReviewedImage>();
        await foreach (var r in store.ReviewedImagesOfLotAsync("LOT-1")) reviewed.Add(r);
        Assert.Equal([("run-b", "p2", "bubble", "second look"), ("run-a", "p1", "bubble", "round")],
            reviewed.Select(r => (r.Review.RunId, r.Review.ParticleId, r.Review.Label, r.Review.Reason)));
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 2, (byte)'2'], reviewed[0].Image);
        Assert.Equal((await store.ReviewsAsync("LOT-1"))[2], reviewed[0].Review);

        foreach (var query in new[] { new ParticleQuery(LotId: "LOT-1", Limit: 3), new ParticleQuery(LotId: "LOT-1", Type: "bubble", Limit: 1),
                     new ParticleQuery(RunId: "run-a", Reviewed: false, Limit: 2) })
        {
            var expected = (await store.QueryParticlesAsync(query with { Limit = 500 })).Particles.Select(Key).ToList();
            var walked = new List<ParticleKey>();
            var page = await store.QueryParticlesAsync(query);
            while (true)
            {
                Assert.Equal(expected.Count, page.Total);
                walked.AddRange(page.Particles.Select(Key));
                if (page.Particles.Count < query.Limit) break;
                page = await store.QueryParticlesAfterAsync(query, walked[^1]);
            }
            Assert.Equal(expected, walked);
        }
    }

    private static ParticleKey Key(ReviewedParticle p) => new(p.Particle.RunId, p.Particle.ParticleId);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _databases.DisposeAsync().AsTask();
}
