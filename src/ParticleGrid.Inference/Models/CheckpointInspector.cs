using ParticleGrid.Inference.Networks;

namespace ParticleGrid.Inference.Models;

/// <summary>Reads what a bare PyTorch checkpoint is without building a network: how many classes its head has.</summary>
public static class CheckpointInspector
{
    /// <exception cref="CheckpointException">The file is missing or unreadable, or has no head of that architecture.</exception>
    public static int ClassifierClassCount(string pthPath, string architecture)
    {
        using var scope = NewDisposeScope(); // the file's tensors are released here
        var state = ParticleNetworks.ReadStateDict(pthPath);
        string key = ParticleNetworks.ClassifierPrefix(architecture) + ".weight";
        if (!state.TryGetValue(key, out var head) || head.shape.Length != 2)
            throw new CheckpointException(pthPath, $"has no '{key}' matrix; is it a {architecture} checkpoint?");
        return (int)head.shape[0];
    }
}
