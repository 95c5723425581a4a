namespace ParticleGrid.GpuCheck.Tests;

/// <summary>
/// What these tests need beside .NET: one test each, failing in one line with the command that installs it. The
/// tests that need a missing one are skipped (failed, with PARTICLEGRID_TEST_PREREQUISITES=required, as under CI).
/// </summary>
public sealed class Prerequisites
{
    [Fact]
    public void PyTorch_is_installed() => Prerequisite.Torch.AssertInstalled();
}
