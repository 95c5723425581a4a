using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// Issue 14, item 6: the gate before a model set goes live. A gateway-only silo holds the registry and a worker
/// silo holds the networks, so the evaluation runs where the networks are.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class GateTests(TinyModels models) : IDisposable
{
    private readonly TemporaryDirectory _data = new();

    [Fact]
    public async Task A_worse_set_is_refused_with_the_comparison_too_few_reviewed_refuses_and_an_admin_override_activates_and_is_audited()
    {
        // Three reviewed particles per class keep the test small; the default is 20.
        await using var cluster = await TestClusters.StartAsync(_data.Path, ["gateway", "worker"], o => o.Gate.MinReviewedPerClass = 3);
        var registry = cluster.Client.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);

        // The first set has nothing to be compared with: not gated, and the report says so.
        var lenient = await TestClusters.ActivateAsync(cluster.Client, models.WithOutOfScopeThreshold(1e12));
        Assert.Equal(GateDecision.FirstSet, (await registry.GetGate(lenient.Version))!.Comparison.Decision);

        // A set that calls every particle "unknown": worse, but with no reviewed particles nobody can tell.
        var strict = await registry.Register(models.WithOutOfScopeThreshold(1e-9));
        var tooFew = await Assert.ThrowsAsync<ModelSetRefusedException>(() => registry.Activate(strict.Version));
        Assert.Contains("too few reviewed particles", tooFew.Message);
        Assert.Contains("at least 3 per class", tooFew.Message);
        Assert.Equal(GateDecision.RefuseTooFewReviewed, (await registry.GetGate(strict.Version))!.Comparison.Decision);
        Assert.Equal(lenient.Version, (await registry.GetActive())!.Version);

        // Reviewers label 3 particles of each type with the type they are (the ground truth).
        var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-gate");
        await run.Start(new RunDescriptor("LOT-G", "FC-1", 1));
        var particles = SimulatedInstrument.Particles("g", 12, 4);
        await SimulatedInstrument.SubmitAsync(run, particles, batchSize: 6);
        using (var store = SqlParticleStore.Sqlite(Path.Combine(_data.Path, "particles.db")))
        {
            for (int i = 0; i < particles.Count; i++)
            {
                string truth = ParticleTypes.FolderName(ParticleTypes.StudyTypes[i % ParticleTypes.StudyTypes.Count]);
                await store.AppendReviewAsync("run-gate", particles[i].ParticleId, "reviewer-1", truth, "checked", DateTimeOffset.UtcNow);
            }
        }

        var worse = await Assert.ThrowsAsync<ModelSetRefusedException>(() => registry.Activate(strict.Version));
        Assert.Contains($"{strict.Version} is worse than {lenient.Version} on 12 reviewed particles", worse.Message);
        Assert.Contains("unknown rate 0.000 -> 1.000", worse.Message);
        var report = (await registry.GetGate(strict.Version))!;
        Assert.Equal(GateDecision.RefuseWorse, report.Comparison.Decision);
        Assert.Equal(12, report.Comparison.Evaluated);
        Assert.All(report.Comparison.Support.Values, n => Assert.Equal(3, n));
        Assert.Equal((0.0, 1.0), (report.Comparison.Active!.UnknownRate, report.Comparison.Candidate!.UnknownRate));
        Assert.Equal(0.0, report.Comparison.Candidate.Accuracy);
        Assert.Null(report.Override);
        Assert.Equal(lenient.Version, (await registry.GetActive())!.Version);

        // An admin may overrule the gate, with a reason; it activates and the override is kept with the report.
        await Assert.ThrowsAsync<ArgumentException>(() => registry.ActivateOverridingGate(strict.Version, "qa-admin", " "));
        await registry.ActivateOverridingGate(strict.Version, "qa-admin", "validated on the held-out real set, CR-118");
        Assert.Equal(strict.Version, (await registry.GetActive())!.Version);
        var audit = Assert.Single(await registry.GetGateAudit());
        Assert.Equal((strict.Version, "qa-admin", "validated on the held-out real set, CR-118", GateDecision.RefuseWorse),
            (audit.Version, audit.Admin, audit.Reason, audit.Decision));
        Assert.Contains("worse than", audit.GateSummary);
        Assert.Equal(audit, (await registry.GetGate(strict.Version))!.Override);
        var worker = await cluster.Client.GetGrain<IEnsembleWorkerGrain>(Grains.Placement.WorkerSilos.KeyOf(cluster.Silos[1].SiloAddress)).GetInfo();
        Assert.Equal(strict.Version, worker.ActiveModelSet);
    }

    public void Dispose() => _data.Dispose();
}
