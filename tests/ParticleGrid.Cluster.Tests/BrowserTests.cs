using System.Diagnostics;
using System.Reflection;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Host.Auth;
using ParticleGrid.Storage;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// The web UI end to end in headless Chromium (Debian's), driven by playwright-core: log in, page and filter the lot
/// list, open a lot, see its chart and gallery, review a particle, open a run. Screenshots go to artifacts/screenshots.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class BrowserTests(TinyModels models) : IDisposable
{
    private static readonly string Root = Path.GetFullPath(typeof(BrowserTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!);
    private static readonly string E2e = Path.Combine(Root, "tests", "e2e");
    private readonly TemporaryDirectory _data = new();

    [SkippableFact]
    public async Task A_reviewer_logs_in_opens_a_lot_reviews_a_particle_and_follows_a_run()
    {
        Prerequisite.Chromium.SkipIfMissing();
        Assert.True(File.Exists("/usr/bin/chromium"), "Debian's chromium is needed: apt-get install chromium (.ci/run does)");
        Assert.True(Directory.Exists(Path.Combine(E2e, "node_modules", "playwright-core")), $"run 'npm ci' in {E2e} (.ci/run does)");

        await using var host = await RunningHost.StartAsync(o => o.DataDirectory = _data.Path);
        await TestClusters.ActivateAsync(host.Grains, models.Directories);
        var store = (IParticleStore)host.App.Services.GetService(typeof(IParticleStore))!;
        string token = (await AccessTokens.CreateAsync(store, Roles.Qa, "browser reviewer")).Token;
        await host.Grains.GetGrain<ILotGrain>("LOT-UI").Describe(new LotDescriptor(2.0, "mAb-UI"));
        foreach (var (run, seed) in new[] { ("ui-run-1", 11), ("ui-run-2", 12) })
        {
            var grain = host.Grains.GetGrain<IInstrumentRunGrain>(run);
            await grain.Start(new RunDescriptor("LOT-UI", "FC-UI", 0.4, 32));
            await SimulatedInstrument.SubmitAsync(grain, SimulatedInstrument.Particles("p", 32, seed), batchSize: 16);
            await grain.Complete();
        }
        Assert.True((await store.QueryParticlesAsync(new ParticleQuery(LotId: "LOT-UI", UnreviewedUncertainOnly: true, Limit: 0))).Total > 0,
            "the tiny models leave uncertain particles to review");
        // More lots, so that the list has pages of two and lots of more than one verdict (described, not yet measured).
        foreach (var lot in new[] { "LOT-UI-2", "LOT-UI-3", "LOT-UI-4" })
            await host.Grains.GetGrain<ILotGrain>(lot).Describe(new LotDescriptor(2.0, "mAb-UI"));

        string screenshots = Path.Combine(Root, "artifacts", "screenshots");
        Directory.CreateDirectory(screenshots);
        var start = new ProcessStartInfo("node") { WorkingDirectory = E2e, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "ui-e2e.mjs", "--base", host.Http.BaseAddress!.ToString().TrimEnd('/'), "--token", token, "--lot", "LOT-UI", "--screenshots", screenshots })
            start.ArgumentList.Add(argument);
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        if (!node.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            node.Kill(entireProcessTree: true);
            Assert.Fail($"the browser test did not finish in 3 minutes\n{await output}\n{await error}");
        }
        Assert.True(node.ExitCode == 0, $"browser test failed (exit {node.ExitCode})\n--- stdout\n{await output}\n--- stderr\n{await error}");
        // The host's Content-Security-Policy blocked nothing the UI does (Chromium logs each refusal as a console error).
        Assert.DoesNotContain("Content Security Policy", await output);

        // What the browser did is in the store: one review, by the token's name, with its reason.
        var reviews = await store.ReviewsAsync("LOT-UI");
        var review = Assert.Single(reviews);
        Assert.Equal("browser reviewer", review.Reviewer);
        Assert.False(string.IsNullOrWhiteSpace(review.Reason));
        Assert.True(File.Exists(Path.Combine(screenshots, "review.png")));
    }

    public void Dispose() => _data.Dispose();
}
