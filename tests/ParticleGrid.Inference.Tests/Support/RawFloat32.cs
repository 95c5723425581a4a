using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace ParticleGrid.Inference.Tests.Support;

/// <summary>Tensors as raw little-endian float32 files, row-major, the format torchvision_reference.py reads and writes.</summary>
static class RawFloat32
{
    public static void Write(string path, Tensor tensor)
    {
        Assert.True(BitConverter.IsLittleEndian, "The raw float32 exchange with PyTorch assumes a little-endian host.");
        float[] values = tensor.contiguous().data<float>().ToArray();
        File.WriteAllBytes(path, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }

    public static Tensor Read(string path, params long[] shape)
    {
        float[] values = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
        Assert.Equal(shape.Aggregate(1L, (product, length) => product * length), values.LongLength);
        return tensor(values).reshape(shape);
    }
}
