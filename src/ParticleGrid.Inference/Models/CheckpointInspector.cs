using System.Collections;
using ParticleGrid.Inference.Networks;
using TorchSharp;
using TorchSharp.PyBridge;

namespace ParticleGrid.Inference.Models;

/// <summary>Reads what a bare PyTorch checkpoint is without building a network: how many classes its head has.</summary>
public static class CheckpointInspector
{
    public static int ClassifierClassCount(string pthPath, string architecture)
    {
        if (!File.Exists(pthPath)) throw new CheckpointException(pthPath, "not found");
        Hashtable state;
        try
        {
            using var stream = File.OpenRead(pthPath);
            state = PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CheckpointException(pthPath, $"is not a readable PyTorch state_dict (.pth zip): {e.Message}", e);
        }
        try
        {
            string key = ParticleNetworks.ClassifierPrefix(architecture) + ".weight";
            if (state[key] is not torch.Tensor head || head.shape.Length != 2)
                throw new CheckpointException(pthPath, $"has no '{key}' matrix; is it a {architecture} checkpoint?");
            return (int)head.shape[0];
        }
        finally
        {
            foreach (var value in state.Values) (value as IDisposable)?.Dispose();
        }
    }
}
