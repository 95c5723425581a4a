using BenchmarkDotNet.Attributes;
using ParticleGrid.Domain;

namespace ParticleGrid.Benchmarks;

/// <summary>
/// <see cref="EnsembleVoter.Decide"/> for one particle: three models' probabilities over the four classes, with each
/// vote rule. The models disagree (two say protein, one glass), so the uncertainty checks run to the end.
/// </summary>
[MemoryDiagnoser]
public class EnsembleVoterBenchmarks
{
    private readonly IReadOnlyList<IReadOnlyList<float>> _probabilities =
    [
        new float[] { 0.01f, 0.02f, 0.07f, 0.90f },
        new float[] { 0.02f, 0.03f, 0.15f, 0.80f },
        new float[] { 0.05f, 0.05f, 0.60f, 0.30f },
    ];

    private readonly EnsembleVoter _soft = new(VoteRule.Soft);
    private readonly EnsembleVoter _majority = new(VoteRule.Majority);
    private readonly EnsembleVoter _weighted = new(VoteRule.Weighted, weights: [1.0, 1.5, 0.8]);

    [Benchmark(Baseline = true)]
    public EnsembleDecision Soft() => _soft.Decide(_probabilities);

    [Benchmark]
    public EnsembleDecision Majority() => _majority.Decide(_probabilities);

    [Benchmark]
    public EnsembleDecision Weighted() => _weighted.Decide(_probabilities);
}
