using TorchSharp;
using static TorchSharp.torch;

namespace ParticleGrid.Serving.Engines.Onnx;

/// <summary>One float tensor of a state_dict, copied off libtorch: its values (row-major) and shape.</summary>
public sealed record WeightTensor(float[] Values, long[] Shape);

/// <summary>
/// A network's float parameters and buffers by torchvision's state_dict key (<c>layer1.0.conv1.weight</c>,
/// <c>features.norm0.running_var</c>…), as plain arrays: what the ONNX graphs are written from.
/// </summary>
public sealed class NetworkWeights(IReadOnlyDictionary<string, WeightTensor> tensors)
{
    /// <summary>Copies every floating-point tensor of the module's state_dict (batch counters are left out).</summary>
    public static NetworkWeights Of(nn.Module<Tensor, Tensor> network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var tensors = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        using var noGrad = torch.no_grad();
        foreach (var (key, tensor) in network.state_dict())
        {
            if (tensor.dtype != ScalarType.Float32) continue;
            using var onCpu = tensor.detach().cpu().contiguous();
            tensors[key] = new WeightTensor(onCpu.data<float>().ToArray(), onCpu.shape);
        }
        return new NetworkWeights(tensors);
    }

    /// <exception cref="OnnxExportException">The key is not in the state_dict: the weights are not of this architecture.</exception>
    public WeightTensor this[string key] => tensors.TryGetValue(key, out var tensor)
        ? tensor
        : throw new OnnxExportException($"the weights have no '{key}'; they are not of the architecture being written");

    public bool Contains(string key) => tensors.ContainsKey(key);
}

/// <summary>A network that cannot be written as an ONNX graph; the message says which tensor or architecture.</summary>
public sealed class OnnxExportException(string message) : Exception(message);
