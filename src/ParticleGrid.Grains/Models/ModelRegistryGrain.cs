using Microsoft.Extensions.Logging;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Grains.Placement;
using ParticleGrid.ModelRepository;
using ParticleGrid.Storage;

namespace ParticleGrid.Grains.Models;

/// <summary>The registry's durable state: every registered set and the active one.</summary>
[GenerateSerializer]
public sealed class ModelRegistryState
{
    [Id(0)] public List<ModelSetInfo> Sets { get; set; } = [];
    [Id(1)] public string? ActiveVersion { get; set; }

    /// <summary>Each set's last gate report, by version.</summary>
    [Id(2)] public Dictionary<string, ModelSetGateReport> Gates { get; set; } = [];

    /// <summary>Every override of the gate, appended and never changed.</summary>
    [Id(3)] public List<GateOverride> GateOverrides { get; set; } = [];
}

/// <summary>
/// The site's model sets. Activation is two-phase: every worker loads and warms the new set beside the old one,
/// and only when all have it does each switch, so classification never stops. A worker that fails to load it
/// refuses the activation and nothing switches. Before either phase the gate runs: a worker answers with both the
/// active and the new set on the site's reviewed particles, read here in pages (the gateway needs the store, not the
/// networks), and <see cref="ModelSetComparison"/> decides.
/// </summary>
[GatewaySiloPlacement]
public sealed class ModelRegistryGrain(
    [PersistentState("registry", StorageNames.Grains)] IPersistentState<ModelRegistryState> state,
    WorkerSilos workers,
    IParticleStore store,
    ModelGatePolicy gate,
    Orleans.Serialization.DeepCopier copier,
    ILogger<ModelRegistryGrain> logger) : Grain, IModelRegistryGrain
{
    public async Task<ModelSetInfo> Register(IReadOnlyList<string> modelDirectories)
    {
        IReadOnlyList<ModelSetMember> members;
        try
        {
            members = await Task.Run(() => ModelSets.Read(modelDirectories));
        }
        catch (ModelSetException e)
        {
            throw new ModelSetRefusedException($"model set refused: {e.Message}");
        }
        string version = ModelSets.VersionOf(members);
        // The set's reference of its training data, for the domain-shift alarm: kept in the store (every reader of a lot
        // compares runs with it), and written again when a set is registered again, so a set registered before the store
        // kept references gets one.
        double? expectedUnknown = DomainShift.ExpectedUnknownShare([.. members.Select(m => m.Manifest.OutOfScope?.ValidationKeptShare)]);
        await store.SaveModelSetReferenceAsync(version, expectedUnknown);
        var existing = state.State.Sets.FirstOrDefault(s => s.Version == version);
        if (existing is not null) return existing;

        var set = new ModelSetInfo(version, members[0].Manifest.Classes,
            [.. members.Select(m => new ModelSetMemberInfo(m.Name, m.Manifest.Architecture, m.Manifest.Version, m.Directory, m.Manifest.InputSize))],
            DateTimeOffset.UtcNow);
        // Kept only when written: a failed write leaves the set unregistered, so registering it again writes it.
        await state.WriteChangeAsync(copier, s => s.Sets.Add(set));
        logger.LogInformation("Model set {Version} registered: {Members}", version, string.Join(", ", set.Members.Select(m => m.Version)));
        return set;
    }

    /// <summary>Reviewed particles read from the store per page, and images sent to a worker per call: both bound memory and each pause of classification.</summary>
    private const int ReviewedPage = 200, ImagesPerWorkerCall = 32;

    public Task<ModelSetInfo> Activate(string version) => ActivateGated(version, null);

    public Task<ModelSetInfo> ActivateOverridingGate(string version, string admin, string reason)
    {
        if (string.IsNullOrWhiteSpace(admin)) throw new ArgumentException("an override of the gate must name the admin");
        if (string.IsNullOrWhiteSpace(reason)) throw new ArgumentException("an override of the gate needs a reason; it is audited");
        return ActivateGated(version, (admin.Trim(), reason.Trim()));
    }

    public async Task<ModelSetGateReport> EvaluateGate(string version)
    {
        var set = Registered(version);
        var report = new ModelSetGateReport(version, await Compare(set), DateTimeOffset.UtcNow);
        await state.WriteChangeAsync(copier, s => s.Gates[version] = report);
        return report;
    }

    public Task<ModelSetGateReport?> GetGate(string version) => Task.FromResult(state.State.Gates.GetValueOrDefault(version));

    public Task<IReadOnlyList<GateOverride>> GetGateAudit() => Task.FromResult<IReadOnlyList<GateOverride>>([.. state.State.GateOverrides]);

    private ModelSetInfo Registered(string version) => state.State.Sets.FirstOrDefault(s => s.Version == version)
        ?? throw new ArgumentException($"model set {version} is not registered; registered: {string.Join(", ", state.State.Sets.Select(s => s.Version))}");

    private async Task<ModelSetInfo> ActivateGated(string version, (string Admin, string Reason)? overriding)
    {
        var set = Registered(version);
        // Activating the active set again changes no answer: nothing to gate.
        if (state.State.ActiveVersion != version)
        {
            var report = new ModelSetGateReport(version, await Compare(set), DateTimeOffset.UtcNow);
            GateOverride? audit = null;
            if (!report.Comparison.Accepted && overriding is { } by)
            {
                audit = new GateOverride(version, by.Admin, by.Reason, DateTimeOffset.UtcNow, report.Comparison.Decision, report.Comparison.Summary);
                report = report with { Override = audit };
            }
            // The report and any override are kept together or not at all: a failed write leaves no half-recorded override.
            await state.WriteChangeAsync(copier, s =>
            {
                if (audit is not null) s.GateOverrides.Add(audit);
                s.Gates[version] = report;
            });
            if (audit is not null)
                logger.LogWarning("Gate overridden for model set {Version} by {Admin}: {Reason} (gate: {Summary})", version, audit.Admin, audit.Reason,
                    report.Comparison.Summary);
            if (!report.Comparison.Accepted && report.Override is null)
            {
                throw new ModelSetRefusedException($"activation of {version} refused by the gate: {report.Comparison.Summary}. " +
                    $"GET /models/{version}/gate has the report; an admin may activate it anyway with {{\"override\": true, \"reason\": \"...\"}}");
            }
        }
        var silos = workers.Active();
        var grains = silos.Select(s => GrainFactory.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(s))).ToList();

        // Phase 1: every worker loads it beside what it serves now.
        var preparing = grains.Select(async (grain, i) =>
        {
            try { await grain.Prepare(set); }
            catch (Exception e) { throw new ModelSetRefusedException($"worker {silos[i]} could not load model set {version}: {e.Message}"); }
        }).ToList();
        await Task.WhenAll(preparing);

        // Phase 2: record it (late workers load it on activation), then every worker switches.
        await state.WriteChangeAsync(copier, s => s.ActiveVersion = version);
        await Task.WhenAll(grains.Select(g => g.Activate(version)));
        logger.LogInformation("Model set {Version} active on {Workers} worker(s)", version, grains.Count);
        return set;
    }

    /// <summary>
    /// The candidate beside the active set on the site's reviewed particles whose label is one of the candidate's
    /// classes, at most <see cref="ModelGatePolicy.MaxReviewedPerClass"/> per class, answered by one worker.
    /// </summary>
    private async Task<ModelSetComparison> Compare(ModelSetInfo candidate)
    {
        var active = state.State.Sets.FirstOrDefault(s => s.Version == state.State.ActiveVersion);
        if (active is null) return ModelSetComparison.FirstSet(candidate.Version);
        if (active.Version == candidate.Version)
            throw new ArgumentException($"model set {candidate.Version} is the active set; the gate compares a new set with it");

        var silos = workers.Active();
        if (silos.Count == 0) throw new ModelSetRefusedException("no worker silo is up to evaluate the new model set for the gate");
        // Any worker will do: each holds the active set and loads the candidate beside it.
        var worker = GrainFactory.GetGrain<IEnsembleWorkerGrain>(WorkerSilos.KeyOf(silos[Random.Shared.Next(silos.Count)]));

        var taken = candidate.Classes.ToDictionary(c => c, _ => 0);
        var particles = new List<GatedParticle>();
        for (int offset = 0; ; offset += ReviewedPage)
        {
            var page = await store.QueryParticlesAsync(new ParticleQuery(Reviewed: true, Limit: ReviewedPage, Offset: offset));
            var chosen = new List<(string Label, byte[] Image)>();
            foreach (var particle in page.Particles)
            {
                // Reviewed as fibre, unknown or anything the set cannot name: not a question this set answers.
                if (particle.ReviewedLabel is not { } label || !taken.TryGetValue(label, out int count) || count >= gate.MaxReviewedPerClass) continue;
                if (await store.GetImageAsync(particle.Particle.RunId, particle.Particle.ParticleId) is not { } image) continue;
                taken[label] = count + 1;
                chosen.Add((label, image));
            }
            foreach (var chunk in chosen.Chunk(ImagesPerWorkerCall))
            {
                var answers = await worker.AnswerForGate(active, candidate, [.. chunk.Select(c => c.Image)]);
                for (int i = 0; i < chunk.Length; i++)
                {
                    if (answers[i] is { } a) particles.Add(new GatedParticle(chunk[i].Label, a.Active, a.Candidate));
                }
            }
            if (page.Particles.Count < ReviewedPage || taken.Values.All(n => n >= gate.MaxReviewedPerClass)) break;
        }
        var comparison = ModelSetComparison.Compare(active.Version, active.Classes, candidate.Version, candidate.Classes, particles, gate);
        logger.LogInformation("Gate for model set {Version} beside {Active}: {Summary}", candidate.Version, active.Version, comparison.Summary);
        return comparison;
    }

    public Task<ModelSetInfo?> GetActive() =>
        Task.FromResult(state.State.Sets.FirstOrDefault(s => s.Version == state.State.ActiveVersion));

    public Task<IReadOnlyList<ModelSetInfo>> List() => Task.FromResult<IReadOnlyList<ModelSetInfo>>([.. state.State.Sets]);
}
