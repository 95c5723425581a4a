namespace ParticleGrid.Domain;

/// <summary>
/// Seeds derived from a user's seed, the same in every process and on every machine (unlike <see cref="HashCode"/>,
/// which .NET randomises per process), and spread apart (neighbouring seeds given to <see cref="Random"/> give
/// nearly linear first draws).
/// </summary>
public static class Seeds
{
    /// <summary>A non-negative seed for stream <paramref name="stream"/> of <paramref name="seed"/> (SplitMix64's finaliser).</summary>
    public static int Derive(int seed, long stream)
    {
        unchecked
        {
            ulong mixed = (((ulong)(uint)seed << 32) ^ (ulong)stream) + 0x9E3779B97F4A7C15UL;
            mixed = (mixed ^ (mixed >> 30)) * 0xBF58476D1CE4E5B9UL;
            mixed = (mixed ^ (mixed >> 27)) * 0x94D049BB133111EBUL;
            mixed ^= mixed >> 31;
            return (int)(mixed & int.MaxValue);
        }
    }
}
