using BenchmarkDotNet.Attributes;
using ParticleGrid.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Benchmarks;

/// <summary>
/// <see cref="ParticlePreprocessor.ToPlanes"/>: a particle image to a network's CHW input planes. A 64 px image to 64 px
/// is a straight copy; every other pair resizes (bilinear, ImageSharp).
/// </summary>
[MemoryDiagnoser]
public class PreprocessorBenchmarks
{
    private Image<Rgb24> _image = null!;

    /// <summary>The side of the particle image, in pixels.</summary>
    [Params(64, 300)]
    public int ImageSide { get; set; }

    /// <summary>The network's input side, in pixels.</summary>
    [Params(64, 224)]
    public int InputSize { get; set; }

    [GlobalSetup]
    public void Setup() => _image = Particles.Rgb(ImageSide);

    [GlobalCleanup]
    public void Cleanup() => _image.Dispose();

    [Benchmark]
    public float[] ToPlanes() => ParticlePreprocessor.ToPlanes(_image, InputSize);
}

/// <summary><see cref="ParticleMorphology.Measure"/>: segmenting the particle and measuring its size and shape.</summary>
[MemoryDiagnoser]
public class MorphologyBenchmarks
{
    private Image<Rgb24> _image = null!;

    [Params(64, 300)]
    public int ImageSide { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _image = Particles.Rgb(ImageSide);
        if (ParticleMorphology.Measure(_image, 1.0) is null) throw new InvalidOperationException("The synthetic particle did not segment.");
    }

    [GlobalCleanup]
    public void Cleanup() => _image.Dispose();

    [Benchmark]
    public ParticleMeasurements? Measure() => ParticleMorphology.Measure(_image, 1.0);
}

/// <summary>
/// <see cref="ParticleImageDecoder.Load(Stream, string)"/> of PNG bytes in memory: the header check, the truncation
/// check (a walk of the PNG chunks) and the decode to RGB.
/// </summary>
[MemoryDiagnoser]
public class DecoderBenchmarks
{
    private byte[] _png = [];

    [Params(64, 300)]
    public int ImageSide { get; set; }

    [GlobalSetup]
    public void Setup() => _png = Particles.Png(ImageSide);

    [Benchmark]
    public int LoadPng()
    {
        using var image = ParticleImageDecoder.Load(new MemoryStream(_png, writable: false), "particle.png");
        return image.Width;
    }
}
