using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.TestingHost;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Storage;

namespace ParticleGrid.Cluster.Tests;

/// <summary>Two gateway silos and two worker silos, the three real networks, one shared store.</summary>
[Collection(TinyModelsCollection.Name)]
public sealed class ClusterTests(TinyModels models) : IDisposable
{
    private static readonly string[] TwoGatewaysTwoWorkers = ["gateway", "gateway", "worker", "worker"];
    private readonly TemporaryDirectory _data = new();

    private SqlParticleStore Store() => SqlParticleStore.Sqlite(Path.Combine(_data.Path, "particles.db"));

    [Fact]
    public async Task Inference_runs_only_on_workers_and_runs_lots_and_registry_only_on_gateways()
    {
        await using var cluster = await TestClusters.StartAsync(_data.Path, TwoGatewaysTwoWorkers);
        await TestClusters.ActivateAsync(cluster.Client, models.Directories);

        for (int r = 0; r < 4; r++)
        {
            var run = cluster.Client.GetGrain<IInstrumentRunGrain>($"run-{r}");
            await run.Start(new RunDescriptor("LOT-1", $"FC-{r % 2}", 0.5));
            await SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 12, r), batchSize: 6);
        }
        await cluster.Client.GetGrain<ILotGrain>("LOT-1").GetProfile();

        var workers = cluster.Silos.Skip(2).Select(s => s.SiloAddress).ToHashSet();
        var gateways = cluster.Silos.Take(2).Select(s => s.SiloAddress).ToHashSet();
        var activations = await cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var workerGrains = activations.Where(a => a.GrainType.Contains("EnsembleWorkerGrain")).ToList();
        var gatewayGrains = activations.Where(a => a.GrainType.Contains("InstrumentRunGrain") || a.GrainType.Contains("LotGrain") || a.GrainType.Contains("ModelRegistryGrain")).ToList();

        Assert.Equal(workers, workerGrains.Select(a => a.SiloAddress).ToHashSet());   // one on each worker, none elsewhere
        Assert.Equal(2, workerGrains.Count);
        Assert.NotEmpty(gatewayGrains);
        Assert.All(gatewayGrains, a => Assert.Contains(a.SiloAddress, gateways));

        // Asking for the ensemble on a gateway silo is refused, not quietly placed there.
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            cluster.Client.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(cluster.Silos[0].SiloAddress)).GetInfo());
        Assert.Contains("not a worker silo", error.Message);

        // Each worker advertises what it computes on, and did some of the work.
        var infos = await Task.WhenAll(workers.Select(w => cluster.Client.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(w)).GetInfo()));
        Assert.All(infos, info => Assert.Equal("cpu", info.Device));
        Assert.All(infos, info => Assert.Equal("onnxruntime", info.Engine));   // the fastest engine on a CPU
        Assert.Equal(48, infos.Sum(i => i.ClassifiedParticles));
    }

    [Fact]
    public async Task A_worker_stopped_mid_run_loses_nothing_and_a_replayed_batch_changes_nothing()
    {
        await using var cluster = await TestClusters.StartAsync(_data.Path, TwoGatewaysTwoWorkers);
        await TestClusters.ActivateAsync(cluster.Client, models.Directories);
        var runs = Enumerable.Range(0, 3).Select(i => cluster.Client.GetGrain<IInstrumentRunGrain>($"run-{i}")).ToList();
        for (int i = 0; i < runs.Count; i++) await runs[i].Start(new RunDescriptor(i < 2 ? "LOT-A" : "LOT-B", $"FC-{i}", 0.5, 40));

        var doomed = cluster.Silos[3];
        var firstReceipt = new TaskCompletionSource();
        var submitting = runs.Select((run, i) => SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 40, i), batchSize: 8,
            onReceipt: _ => firstReceipt.TrySetResult())).ToList();
        await firstReceipt.Task;
        await cluster.KillSiloAsync(doomed);
        var receipts = await Task.WhenAll(submitting);

        using var store = Store();
        foreach (var (run, i) in runs.Select((r, i) => (r, i)))
        {
            var status = await run.GetStatus();
            Assert.Equal(40, status.Recorded);
            Assert.Equal(40, status.Classified);
            Assert.Equal(0, status.Failed);
            Assert.Equal(1.0, status.Progress);
            var stored = await store.ParticlesOfRunAsync($"run-{i}");
            Assert.Equal(40, stored.Select(p => p.ParticleId).Distinct().Count());
            Assert.All(stored, p => Assert.Equal(3, p.Votes.Count));
        }
        Assert.Equal(120, receipts.SelectMany(r => r).Sum(r => r.Appended));

        // The same batch again: nothing is classified or counted twice.
        var replay = await runs[0].SubmitBatch("batch-0000", SimulatedInstrument.Particles("p", 8, 0));
        Assert.Equal((8, 0, 8), (replay.Received, replay.Appended, replay.AlreadyRecorded));
        Assert.Equal(40, (await runs[0].GetStatus()).Recorded);
        var lotA = await cluster.Client.GetGrain<ILotGrain>("LOT-A").GetProfile();
        Assert.Equal(80, lotA!.Particles);
    }

    [Fact]
    public async Task A_worker_leaving_gracefully_mid_run_drains_its_queue_and_nothing_fails()
    {
        await using var cluster = await TestClusters.StartAsync(_data.Path, ["gateway", "worker", "worker"]);
        await TestClusters.ActivateAsync(cluster.Client, models.Directories);
        var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-drain");
        await run.Start(new RunDescriptor("LOT-D", "FC-1", 0.5, 64));
        var firstReceipt = new TaskCompletionSource();
        var submitting = SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 64, 8), batchSize: 8, inFlight: 4,
            onReceipt: _ => firstReceipt.TrySetResult());
        await firstReceipt.Task;
        await cluster.StopSiloAsync(cluster.Silos[2]);   // a scale-down: the silo drains, then leaves
        await submitting;

        var status = await run.GetStatus();
        Assert.Equal((64, 64, 0), (status.Recorded, status.Classified, status.Failed));
    }

    [Fact]
    public async Task Every_particle_keeps_its_lineage_and_bad_input_fails_alone_with_its_cause()
    {
        await using var cluster = await TestClusters.StartAsync(_data.Path, ["gateway,worker"]);
        var set = await TestClusters.ActivateAsync(cluster.Client, models.Directories);
        var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-1");

        // Not started yet: refused with what to do.
        var notStarted = await Assert.ThrowsAsync<InvalidOperationException>(() => run.SubmitBatch("b0", SimulatedInstrument.Particles("p", 1, 1)));
        Assert.Contains("was not started", notStarted.Message);

        await run.Start(new RunDescriptor("LOT-9", "MFI-5200", 0.25));
        var particles = SimulatedInstrument.Particles("p", 6, 1).ToList();
        particles.Add(new ParticleImage("corrupt", [0x89, 0x50, 0x4E, 0x47, 1, 2, 3], 12));
        var receipt = await run.SubmitBatch("b1", particles);
        Assert.Equal((7, 7, 1), (receipt.Received, receipt.Appended, receipt.Failed));

        using var store = Store();
        var stored = await store.ParticlesOfRunAsync("run-1");
        var failed = Assert.Single(stored, p => p.IsFailed);
        Assert.Equal("corrupt", failed.ParticleId);
        Assert.Contains("corrupt", failed.Failure);
        foreach (var p in stored.Where(p => !p.IsFailed))
        {
            Assert.Equal(("LOT-9", "MFI-5200", set.Version), (p.LotId, p.InstrumentId, p.ModelSetVersion));
            Assert.Equal(64, p.ImageSha256.Length);
            Assert.Equal(set.Members.Select(m => m.Version), p.Votes.Select(v => v.Version));
            Assert.All(p.Votes, v => Assert.Equal(4, v.Probabilities.Count));
            Assert.Contains(p.Type, (IEnumerable<string?>)[.. set.Classes, "unknown"]);   // unknown: past the out-of-scope threshold
            Assert.Equal(p.IsUncertain, p.UncertainReason is not null);
        }

        // Malformed metadata refuses the whole batch with the reason, and records nothing of it.
        var duplicate = await Assert.ThrowsAsync<ArgumentException>(() => run.SubmitBatch("b2",
            [new ParticleImage("x1", particles[0].Image, 5), new ParticleImage("x1", particles[1].Image, 5)]));
        Assert.Contains("x1 appears 2 times", duplicate.Message);
        var badSize = await Assert.ThrowsAsync<ArgumentException>(() => run.SubmitBatch("b3", [new ParticleImage("x2", particles[0].Image, double.NaN)]));
        Assert.Contains("ECD", badSize.Message);
        Assert.Equal(7, (await run.GetStatus()).Recorded);

        // A run id names one run: starting it again for another lot is refused.
        var moved = await Assert.ThrowsAsync<ArgumentException>(() => run.Start(new RunDescriptor("LOT-10", "MFI-5200", 0.25)));
        Assert.Contains("LOT-9", moved.Message);
    }

    /// <summary>
    /// Issue 14: a particle past the out-of-scope threshold is "unknown": its own type in the lot profile, counted as
    /// a particle, never attributed to a known type, queued for review; too many make the lot not assessable.
    /// </summary>
    [Fact]
    public async Task Particles_unlike_the_training_data_are_unknown_counted_never_attributed_and_queued_for_review()
    {
        await using var cluster = await TestClusters.StartAsync(_data.Path, ["gateway,worker"]);
        var strict = await TestClusters.ActivateAsync(cluster.Client, models.WithOutOfScopeThreshold(1e-9)); // nothing is close enough
        var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-unknown");
        await run.Start(new RunDescriptor("LOT-U", "FC-1", 0.5));
        await cluster.Client.GetGrain<ILotGrain>("LOT-U").Describe(new LotDescriptor(1.0, "mAb-1"));
        await SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("u", 8, 3), batchSize: 4);
        await run.Complete();

        using var store = Store();
        var stored = await store.ParticlesOfRunAsync("run-unknown");
        Assert.Equal(8, stored.Count);
        Assert.All(stored, p =>
        {
            Assert.Equal(("unknown", true, "out_of_scope", strict.Version), (p.Type, p.IsUncertain, p.UncertainReason, p.ModelSetVersion));
            Assert.All(p.Votes, v => Assert.True(v.OutOfScopeRatio > 1, $"{v.Model}: ratio {v.OutOfScopeRatio}"));
        });

        var profile = (await cluster.Client.GetGrain<ILotGrain>("LOT-U").GetProfile())!;
        var unknown = Assert.Single(profile.Types, t => t.Type == "unknown");
        Assert.Equal(8, unknown.Count);
        Assert.True(unknown.CountsAsParticle);
        Assert.Equal(8, profile.ParticlesExcludingBubbles.Count);
        Assert.All(profile.Types.Where(t => t.Type is "protein" or "glass" or "silicone_oil"), t => Assert.Equal(0, t.Count));
        Assert.Equal(Domain.VerdictOutcome.NotAssessable, profile.Verdict.Outcome);
        Assert.Contains(profile.Verdict.Reasons, r => r.Contains("unknown", StringComparison.Ordinal) && r.Contains("MaxUnknownShare", StringComparison.Ordinal));
        var queue = await store.QueryParticlesAsync(new ParticleQuery(LotId: "LOT-U", UnreviewedUncertainOnly: true));
        Assert.Equal(8, queue.Total);

        // With a threshold nothing reaches, the same particles get the networks' own types again.
        // Nobody reviewed anything here, so the gate cannot judge the swap: an admin's override, as on a real site.
        var lenientSet = await cluster.Client.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).Register(models.WithOutOfScopeThreshold(1e12));
        await cluster.Client.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site).ActivateOverridingGate(lenientSet.Version, "test", "no reviewed particles in this test");
        var lenient = cluster.Client.GetGrain<IInstrumentRunGrain>("run-known");
        await lenient.Start(new RunDescriptor("LOT-K", "FC-1", 0.5));
        await SimulatedInstrument.SubmitAsync(lenient, SimulatedInstrument.Particles("k", 8, 3), batchSize: 4);
        Assert.All(await store.ParticlesOfRunAsync("run-known"), p => Assert.NotEqual("unknown", p.Type));
    }

    /// <summary>
    /// A shifted synthetic run: with a threshold no particle is close enough to, every particle of the run is unknown, far
    /// above the few percent the set's validation data showed, so the run is in alarm while its particles arrive, its lot
    /// is not assessable and the metric counts it under the model set. A threshold nothing reaches raises no alarm.
    /// </summary>
    [Fact]
    public async Task A_run_unlike_the_training_data_raises_the_domain_shift_alarm_on_the_run_its_lot_and_the_metric()
    {
        await using var cluster = await TestClusters.StartAsync(_data.Path, ["gateway,worker"],
            configure: o => o.Verdict.DomainShift.MinParticles = 8); // the tiny runs below; the site default is 50
        var strict = await TestClusters.ActivateAsync(cluster.Client, models.WithOutOfScopeThreshold(1e-9));
        var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-shifted");
        await run.Start(new RunDescriptor("LOT-S", "FC-9", 0.5));
        await cluster.Client.GetGrain<ILotGrain>("LOT-S").Describe(new LotDescriptor(1.0, "mAb-1"));

        await SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("s", 4, 3), batchSize: 4);
        Assert.Null((await run.GetStatus()).DomainShiftAlarm); // 4 particles: too few to tell
        await SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("t", 4, 4), batchSize: 4);
        var status = await run.GetStatus(); // still open: the alarm comes as the particles arrive, not at completion
        Assert.Equal(RunState.Open, status.State);
        Assert.Equal(Domain.DomainShift.Message, status.DomainShiftAlarm);
        var check = Assert.Single(status.DomainShift!);
        Assert.Equal((strict.Version, 8, 8, true), (check.ModelSet, check.Classified, check.Unknown, check.Alarm));
        Assert.InRange(check.ExpectedUnknownShare!.Value, 0, 0.5);
        Assert.Equal(1, ShiftAlarmsGauge(strict.Version));

        await run.Complete();
        var profile = (await cluster.Client.GetGrain<ILotGrain>("LOT-S").GetProfile())!;
        Assert.Equal(Domain.DomainShift.Message, profile.DomainShiftAlarm);
        Assert.Equal(Domain.VerdictOutcome.NotAssessable, profile.Verdict.Outcome);
        Assert.Contains(profile.Verdict.Reasons, r => r.Contains(Domain.DomainShift.Message, StringComparison.Ordinal));
        Assert.Contains("DOMAIN SHIFT", Domain.LotProfileReport.Format(profile), StringComparison.Ordinal);

        // The same kind of particles with a threshold nothing reaches: none unknown, no alarm, and the gauge has no run for it.
        var registry = cluster.Client.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
        var lenientSet = await registry.Register(models.WithOutOfScopeThreshold(1e12));
        await registry.ActivateOverridingGate(lenientSet.Version, "test", "no reviewed particles in this test"); // the gate has its own tests
        var lenient = cluster.Client.GetGrain<IInstrumentRunGrain>("run-in-scope");
        await lenient.Start(new RunDescriptor("LOT-I", "FC-9", 0.5));
        await SimulatedInstrument.SubmitAsync(lenient, SimulatedInstrument.Particles("i", 8, 3), batchSize: 4);
        var calm = await lenient.GetStatus();
        Assert.Null(calm.DomainShiftAlarm);
        Assert.Equal((8, 0, false), (calm.DomainShift![0].Classified, calm.DomainShift[0].Unknown, calm.DomainShift[0].Alarm));
        Assert.Equal(0, ShiftAlarmsGauge(lenientSet.Version));
        Assert.Null((await cluster.Client.GetGrain<ILotGrain>("LOT-I").GetProfile())!.DomainShiftAlarm);
    }

    /// <summary>What <c>particlegrid_domain_shift_alarms{model_set}</c> reads now for one model set.</summary>
    private static int ShiftAlarmsGauge(string modelSet)
    {
        int total = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Grains.ParticleGridMetrics.MeterName && instrument.Name == "particlegrid.domain_shift.alarms") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            foreach (var tag in tags) if (tag.Key == "model_set" && (string?)tag.Value == modelSet) total += value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return total;
    }

    [Fact]
    public async Task A_worker_that_throws_is_replaced_and_when_all_throw_the_run_pauses_and_records_nothing_until_a_worker_can()
    {
        // Silo_2 throws on every batch; Silo_3 is healthy.
        await using (var cluster = await TestClusters.StartAsync(_data.Path, ["gateway", "worker", "worker"],
            perSilo: (name, silo) => { if (name == "Silo_1") silo.Services.AddSingleton<Serving.EnsembleRuntime, ThrowingClassificationService>(); }))
        {
            await TestClusters.ActivateAsync(cluster.Client, models.Directories);
            var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-flaky");
            await run.Start(new RunDescriptor("LOT-F", "FC-1", 1));
            await SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 32, 5), batchSize: 8);
            var status = await run.GetStatus();
            Assert.Equal((32, 32, 0), (status.Recorded, status.Classified, status.Failed));
        }

        // Every worker throws: an outage, not the particles' fault. The run waits, then answers "paused" with the cause,
        // and records nothing: no particle is failed for good.
        await using (var cluster = await TestClusters.StartAsync(_data.Path, ["gateway", "worker"],
            perSilo: (name, silo) => { if (name == "Silo_1") silo.Services.AddSingleton<Serving.EnsembleRuntime, ThrowingClassificationService>(); }))
        {
            var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-doomed");
            await run.Start(new RunDescriptor("LOT-F", "FC-2", 1));
            var paused = await Assert.ThrowsAsync<RunPausedException>(() => run.SubmitBatch("b0", SimulatedInstrument.Particles("q", 5, 6)));
            Assert.Contains("GPU fell off the bus", paused.Message);
            Assert.Contains("nothing of batch b0 was recorded", paused.Message);
            Assert.True(paused.RetryAfterMs > 0);
            using var store = Store();
            Assert.Empty(await store.ParticlesOfRunAsync("run-doomed"));
        }

        // A healthy worker again: the same batch sent again is classified, every particle, none failed.
        await using (var cluster = await TestClusters.StartAsync(_data.Path, ["gateway", "worker"]))
        {
            var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-doomed");
            var receipt = await run.SubmitBatch("b0", SimulatedInstrument.Particles("q", 5, 6));
            Assert.Equal((5, 0), (receipt.Appended, receipt.Failed));
            var status = await run.GetStatus();
            Assert.Equal((5, 5, 0), (status.Recorded, status.Classified, status.Failed));
        }
    }

    [Fact]
    public async Task A_full_worker_answers_retry_after_and_runs_honour_it_without_losing_anything()
    {
        await using var cluster = await TestClusters.StartAsync(_data.Path, ["gateway,worker"],
            configure: o => { o.Worker.MaxBatchSize = 4; o.Worker.QueueCapacity = 8; o.Worker.MaxQueueDelayMs = 50; o.Runs.ParticlesPerWorkerCall = 4; });
        await TestClusters.ActivateAsync(cluster.Client, models.Directories);
        var runs = Enumerable.Range(0, 4).Select(i => cluster.Client.GetGrain<IInstrumentRunGrain>($"busy-{i}")).ToList();
        foreach (var run in runs) await run.Start(new RunDescriptor("LOT-B", "FC-1", 1));

        await Task.WhenAll(runs.Select((run, i) => SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 24, 20 + i), batchSize: 12, inFlight: 2)));

        foreach (var run in runs) Assert.Equal(24, (await run.GetStatus()).Classified);
        var info = await cluster.Client.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(cluster.Silos[0].SiloAddress)).GetInfo();
        Assert.True(info.RefusedRequests > 0, "with 4 runs x 2 batches x 3 calls of 4 in flight, an 8-particle queue must have refused some");
        Assert.Equal(96, info.ClassifiedParticles);
        Assert.True(info.Batches < 96, "batches held more than one particle");
    }

    [Fact]
    public async Task A_new_model_set_is_loaded_everywhere_before_the_old_one_goes_and_a_mismatched_set_is_refused()
    {
        await using var cluster = await TestClusters.StartAsync(_data.Path, ["gateway", "worker", "worker"]);
        var registry = cluster.Client.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
        var first = await TestClusters.ActivateAsync(cluster.Client, models.Directories);
        var second = await registry.Register([.. models.Directories.Reverse()]);
        Assert.NotEqual(first.Version, second.Version);

        var refused = await Assert.ThrowsAsync<ModelSetRefusedException>(() => registry.Register([models.Directories[1], models.MismatchedDirectory]));
        Assert.Contains("same classes", refused.Message);

        var run = cluster.Client.GetGrain<IInstrumentRunGrain>("run-swap");
        await run.Start(new RunDescriptor("LOT-S", "FC-1", 1));
        var submitting = SimulatedInstrument.SubmitAsync(run, SimulatedInstrument.Particles("p", 48, 9), batchSize: 8, inFlight: 3);
        // This test is about the two-phase switch, not the gate: nothing is reviewed, so the swap is an admin's override.
        await registry.ActivateOverridingGate(second.Version, "test", "two-phase switch test; no reviewed particles");
        await submitting;

        var status = await run.GetStatus();
        Assert.Equal((48, 48, 0), (status.Recorded, status.Classified, status.Failed));
        Assert.Equal(second.Version, (await registry.GetActive())!.Version);
        var infos = await Task.WhenAll(cluster.Silos.Skip(1).Select(s => cluster.Client.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(s.SiloAddress)).GetInfo()));
        Assert.All(infos, i => Assert.Equal(second.Version, i.ActiveModelSet));

        using var store = Store();
        var versions = (await store.ParticlesOfRunAsync("run-swap")).Select(p => p.ModelSetVersion).ToHashSet();
        Assert.Subset(new HashSet<string?> { first.Version, second.Version }, versions);

        // A worker that joins later loads the active set before it serves.
        var late = await cluster.StartAdditionalSiloAsync();
        var lateInfo = await cluster.Client.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(late.SiloAddress)).GetInfo();
        Assert.Equal(second.Version, lateInfo.ActiveModelSet);
    }

    public void Dispose() => _data.Dispose();
}

/// <summary>A worker whose device fails on every batch.</summary>
internal sealed class ThrowingClassificationService(Grains.Workers.WorkerOptions options, Grains.ParticleGridMetrics metrics,
    Microsoft.Extensions.Logging.ILogger<Serving.EnsembleRuntime> logger)
    : Serving.EnsembleRuntime(options, metrics, logger)
{
    public override Task<IReadOnlyList<ParticleVerdict>> ClassifyAsync(ClassificationRequest request) =>
        throw new InvalidOperationException("CUDA error: the GPU fell off the bus");
}
