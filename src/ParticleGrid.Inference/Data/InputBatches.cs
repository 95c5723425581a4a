using ParticleGrid.Imaging;

namespace ParticleGrid.Inference.Data;

/// <summary>Turns particle images into the float tensors the networks take: [N, 3, S, S], normalised.</summary>
public static class InputBatches
{
    /// <summary>
    /// Decodes and preprocesses images in parallel (off the caller's thread), each to CHW planes in [0,1] at
    /// <paramref name="inputSize"/>. The first unreadable image in list order is reported, with its path and cause.
    /// </summary>
    public static float[][] LoadPlanes(IReadOnlyList<string> paths, int inputSize, IProgress<int>? progress = null, CancellationToken cancellation = default)
    {
        var loaded = LoadEach(paths, inputSize, progress, cancellation);
        var firstFailure = loaded.FirstOrDefault(l => l.Error is not null).Error;
        if (firstFailure is not null) throw firstFailure;
        return loaded.Select(l => l.Planes!).ToArray();
    }

    /// <summary>Like <see cref="LoadPlanes"/>, but each image succeeds or fails on its own: one bad file loses nothing else.</summary>
    public static (float[]? Planes, ParticleImageException? Error)[] LoadEach(IReadOnlyList<string> paths, int inputSize,
        IProgress<int>? progress = null, CancellationToken cancellation = default)
    {
        var loaded = new (float[]?, ParticleImageException?)[paths.Count];
        int done = 0;
        Parallel.For(0, paths.Count, new ParallelOptions { CancellationToken = cancellation }, i =>
        {
            try
            {
                using var image = ParticleImageDecoder.Load(paths[i]);
                loaded[i] = (ParticlePreprocessor.ToPlanes(image, inputSize), null);
            }
            catch (ParticleImageException e) { loaded[i] = (null, e); }
            progress?.Report(Interlocked.Increment(ref done));
        });
        return loaded;
    }

    /// <summary>
    /// One batch tensor on <paramref name="device"/> from cached planes; the planes are copied, never changed.
    /// <paramref name="augment"/> (training only) gets each image's copy before it is normalised.
    /// </summary>
    public static Tensor ToTensor(IReadOnlyList<float[]> planes, int inputSize, ChannelNormalization normalization, Device device,
        Action<float[]>? augment = null)
    {
        int imageLength = 3 * inputSize * inputSize;
        var batch = new float[planes.Count * imageLength];
        var image = new float[imageLength];
        for (int i = 0; i < planes.Count; i++)
        {
            Array.Copy(planes[i], image, imageLength);
            augment?.Invoke(image);
            ParticlePreprocessor.Normalize(image, inputSize, normalization);
            Array.Copy(image, 0, batch, i * imageLength, imageLength);
        }
        var onCpu = torch.tensor(batch, [planes.Count, 3, inputSize, inputSize]);
        if (device.type == DeviceType.CPU) return onCpu;
        using (onCpu) return onCpu.to(device);
    }
}
