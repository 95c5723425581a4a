using Microsoft.Extensions.Logging;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Grains.Placement;
using ParticleGrid.Inference.Serving;
using ParticleGrid.Storage;

namespace ParticleGrid.Grains.Models;

/// <summary>The registry's durable state: every registered set and the active one.</summary>
[GenerateSerializer]
public sealed class ModelRegistryState
{
    [Id(0)] public List<ModelSetInfo> Sets { get; set; } = [];
    [Id(1)] public string? ActiveVersion { get; set; }
}

/// <summary>
/// The site's model sets. Activation is two-phase: every worker loads and warms the new set beside the old one,
/// and only when all have it does each switch, so classification never stops. A worker that fails to load it
/// refuses the activation and nothing switches.
/// </summary>
[GatewaySiloPlacement]
public sealed class ModelRegistryGrain(
    [PersistentState("registry", StorageNames.Grains)] IPersistentState<ModelRegistryState> state,
    WorkerSilos workers,
    IParticleStore store,
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
        state.State.Sets.Add(set);
        await state.WriteStateAsync();
        logger.LogInformation("Model set {Version} registered: {Members}", version, string.Join(", ", set.Members.Select(m => m.Version)));
        return set;
    }

    public async Task<ModelSetInfo> Activate(string version)
    {
        var set = state.State.Sets.FirstOrDefault(s => s.Version == version)
            ?? throw new ArgumentException($"model set {version} is not registered; registered: {string.Join(", ", state.State.Sets.Select(s => s.Version))}");
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
        state.State.ActiveVersion = version;
        await state.WriteStateAsync();
        await Task.WhenAll(grains.Select(g => g.Activate(version)));
        logger.LogInformation("Model set {Version} active on {Workers} worker(s)", version, grains.Count);
        return set;
    }

    public Task<ModelSetInfo?> GetActive() =>
        Task.FromResult(state.State.Sets.FirstOrDefault(s => s.Version == state.State.ActiveVersion));

    public Task<IReadOnlyList<ModelSetInfo>> List() => Task.FromResult<IReadOnlyList<ModelSetInfo>>([.. state.State.Sets]);
}
