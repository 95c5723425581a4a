namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// What these tests need beside .NET: one test each, failing in one line with the command that installs it. The
/// tests that need a missing one are skipped (failed, with PARTICLEGRID_TEST_PREREQUISITES=required, as under CI).
/// </summary>
public sealed class Prerequisites
{
    [Fact]
    public void PostgreSQL_is_running() => Prerequisite.PostgreSQL.AssertInstalled();

    [Fact]
    public void Prometheus_is_installed() => Prerequisite.Prometheus.AssertInstalled();

    [Fact]
    public void Chromium_is_installed() => Prerequisite.Chromium.AssertInstalled();
}
