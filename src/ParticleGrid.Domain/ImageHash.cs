using System.Security.Cryptography;

namespace ParticleGrid.Domain;

/// <summary>
/// A particle's lineage to its image: the SHA-256 of the image bytes exactly as the instrument export gave them,
/// lower-case hex. One function, so the worker (which hashes what it classifies) and the run (which hashes what no
/// worker could take) can never disagree about a particle's image.
/// </summary>
public static class ImageHash
{
    public static string Of(byte[] image) => Convert.ToHexStringLower(SHA256.HashData(image));
}
