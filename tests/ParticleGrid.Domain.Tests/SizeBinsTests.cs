using ParticleGrid.Domain;

namespace ParticleGrid.Domain.Tests;

public sealed class SizeBinsTests
{
    [Fact]
    public void Counts_are_cumulative_at_or_above_each_edge()
    {
        double[] ecd = [1.9, 2.0, 4.99, 5.0, 9.0, 10.0, 24.9, 25.0, 49.0, 50.0, 120.0, double.NaN];

        int[] counts = SizeBins.CountAtOrAbove(ecd);

        // >=2: all but 1.9 and NaN (10); >=5: 5.0 and up (8); >=10: 10.0 and up (6); >=25: 25, 49, 50, 120; >=50: 50, 120.
        Assert.Equal([10, 8, 6, 4, 2], counts);
        Assert.Equal([2.0, 5, 10, 25, 50], SizeBins.LowerEdgesMicrometres);
    }

    [Fact]
    public void No_particles_count_zero() => Assert.Equal([0, 0, 0, 0, 0], SizeBins.CountAtOrAbove([]));
}
