namespace ParticleGrid.Imaging;

/// <summary>
/// Smooth seeded 2-D noise in [-1, 1] (value noise: random values on a lattice, smoothly interpolated), for ragged
/// protein outlines, mottled interiors and uneven backgrounds. The same seed gives the same field on every machine.
/// </summary>
internal sealed class ValueNoise(int seed, double cellSize)
{
    private readonly double _cellSize = Math.Max(cellSize, 0.5);

    /// <summary>The noise at a point, in [-1, 1].</summary>
    public double At(double x, double y)
    {
        double gx = x / _cellSize, gy = y / _cellSize;
        int ix = (int)Math.Floor(gx), iy = (int)Math.Floor(gy);
        double fx = Smooth(gx - ix), fy = Smooth(gy - iy);
        double top = Lerp(Lattice(ix, iy), Lattice(ix + 1, iy), fx);
        double bottom = Lerp(Lattice(ix, iy + 1), Lattice(ix + 1, iy + 1), fx);
        return Lerp(top, bottom, fy);
    }

    /// <summary>Three octaves, each half the cell size and half the amplitude of the one before; roughly in [-1, 1].</summary>
    public double Fractal(double x, double y) =>
        (At(x, y) + 0.5 * At(x * 2 + 17.3, y * 2 - 5.1) + 0.25 * At(x * 4 - 9.7, y * 4 + 31.9)) / 1.75;

    private double Lattice(int ix, int iy)
    {
        uint hash = unchecked((uint)ix * 0x8DA6B343u ^ (uint)iy * 0xD8163841u ^ (uint)seed * 0xCB1AB31Fu);
        hash ^= hash >> 15;
        hash = unchecked(hash * 0x2C1B3C6Du);
        hash ^= hash >> 12;
        hash = unchecked(hash * 0x297A2D39u);
        hash ^= hash >> 15;
        return hash / (double)uint.MaxValue * 2 - 1;
    }

    private static double Smooth(double t) => t * t * (3 - 2 * t);

    private static double Lerp(double a, double b, double t) => a + (b - a) * t;
}
