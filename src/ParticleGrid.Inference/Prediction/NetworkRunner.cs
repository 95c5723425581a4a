using ParticleGrid.Imaging;
using ParticleGrid.Inference.Data;

namespace ParticleGrid.Inference.Prediction;

/// <summary>
/// Runs one TorchSharp network over preprocessed particle images in batches (for training, evaluation, predict and the
/// TorchSharp engine) and returns class probabilities, or logits and stage features. Every batch's tensors live in a
/// dispose scope, so memory stays flat however many batches pass through.
/// </summary>
public sealed class NetworkRunner(Module<Tensor, Tensor> network, int inputSize, ChannelNormalization normalization, Device device, int batchSize = 32)
{
    public int InputSize => inputSize;

    /// <summary>Softmax probabilities, one array per image, in the network's class order.</summary>
    public IReadOnlyList<float[]> Probabilities(IReadOnlyList<float[]> planes)
    {
        network.eval();
        var result = new List<float[]>(planes.Count);
        using var noGrad = torch.no_grad();
        for (int start = 0; start < planes.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var batch = planes.Skip(start).Take(batchSize).ToList();
            var input = InputBatches.ToTensor(batch, inputSize, normalization, device);
            result.AddRange(Rows(functional.softmax(network.forward(input), 1)));
        }
        return result;
    }

    /// <summary>Class logits and stage features, one array each per image (the network must expose its features).</summary>
    public NetworkOutputs Outputs(IReadOnlyList<float[]> planes)
    {
        if (network is not Networks.IParticleNetwork split) throw new InvalidOperationException($"{network.GetName()} does not expose its features");
        network.eval();
        var logits = new List<float[]>(planes.Count);
        var features = new List<float[]>(planes.Count);
        using var noGrad = torch.no_grad();
        for (int start = 0; start < planes.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var batch = planes.Skip(start).Take(batchSize).ToList();
            var stages = split.StageFeatures(InputBatches.ToTensor(batch, inputSize, normalization, device));
            features.AddRange(Rows(stages));
            logits.AddRange(Rows(split.Classify(stages)));
        }
        return new NetworkOutputs(logits, features);
    }

    /// <summary>Rows of a [N, C] tensor as float arrays (copied to the CPU).</summary>
    public static IEnumerable<float[]> Rows(Tensor matrix)
    {
        using var onCpu = matrix.cpu();
        var flat = onCpu.data<float>().ToArray();
        int columns = (int)matrix.shape[1];
        for (int i = 0; i < flat.Length / columns; i++) yield return flat.AsSpan(i * columns, columns).ToArray();
    }
}

/// <summary>What a network gives for a batch: class logits [N][classes] and every stage's pooled output, side by side [N][D].</summary>
public sealed record NetworkOutputs(IReadOnlyList<float[]> Logits, IReadOnlyList<float[]> Features);
