using System.Security.Cryptography;
using System.Text;
using ParticleGrid.Domain;

namespace ParticleGrid.Imaging.Tests;

/// <summary>
/// The in-scope synthetic images are the demo's and the training figures' data (docs/training.md): anything added to
/// the generator (out-of-scope kinds, instrument looks, variants) must leave them byte for byte as they were.
/// The hashes below were taken from the generator before instrument looks existed.
/// </summary>
public sealed class DefaultLookPinTests : IDisposable
{
    private readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(40, "e215364c2966fb4cce585e13b89a9f119197fd999c3c1648a2fc3b5a8d60cc0f")] // the demo's size: synth --seed 7 at 40 px
    [InlineData(64, "94c5421897391f387e44ddb833e45fab29c7bc21fb281247f3218c15b52aa69e")] // the training figures' size
    public void Default_in_scope_images_are_unchanged(int imageSize, string expected)
    {
        SyntheticDatasetSummary summary = SyntheticParticles.WriteDataset(_folder.File($"set{imageSize}"), perClass: 6, seed: 7, imageSize: imageSize);
        string actual = HashOf(summary.Directory);
        Assert.True(expected == actual, $"HASH{imageSize} {actual}");
    }

    [Fact]
    public void Default_drawn_pixels_are_unchanged()
    {
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (ParticleType type in ParticleTypes.StudyTypes)
        {
            foreach (int seed in new[] { 1, 2, 3, 1234 })
            {
                using SyntheticParticle particle = SyntheticParticles.Draw(type, 64, 1.0, seed);
                var pixels = new byte[64 * 64];
                particle.Image.CopyPixelDataTo(pixels);
                all.AppendData(pixels);
            }
        }
        string actual = Convert.ToHexStringLower(all.GetHashAndReset());
        Assert.True(actual == "0429c33c16918e6e9fa3c852b5d5546079509351fc4fd961a44ecd779b6a2be5", $"HASHDRAW {actual}");
    }

    /// <summary>SHA-256 over every file's relative path and bytes, in ordinal order of the paths.</summary>
    internal static string HashOf(string root)
    {
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                     .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/')).Order(StringComparer.Ordinal))
        {
            all.AppendData(Encoding.UTF8.GetBytes(path + "\n"));
            all.AppendData(SHA256.HashData(File.ReadAllBytes(Path.Combine(root, path))));
        }
        return Convert.ToHexStringLower(all.GetHashAndReset());
    }
}
