using ParticleGrid.Deploy.Tests.Support;

namespace ParticleGrid.Deploy.Tests;

/// <summary>`helm lint --strict` (warnings fail) for the default, GPU and CPU values, and with every option on.</summary>
public sealed class ChartLintTests
{
    [SkippableTheory]
    [InlineData("default")]
    [InlineData("gpu")]
    [InlineData("cpu")]
    public async Task Lints_strictly(string values)
    {
        var result = await Chart.HelmAsync(["lint", "--strict", ".", .. Chart.ValuesFile(values)]);
        Assert.True(result.ExitCode == 0, result.Describe($"helm lint --strict ({values} values)"));
        Assert.Contains("0 chart(s) failed", result.Output);
    }

    [SkippableFact]
    public async Task Lints_strictly_with_every_option_on()
    {
        var result = await Chart.HelmAsync(["lint", "--strict", ".", .. Chart.Gpu,
            "--set", "postgresql.bundled.enabled=true", "--set", "tls.enabled=true", "--set", "tls.secretName=pg-tls",
            "--set", "models.activate={/models/a,/models/b,/models/c}"]);
        Assert.True(result.ExitCode == 0, result.Describe("helm lint --strict (every option on)"));
    }

    [SkippableTheory]
    [InlineData("worker.device=gpu", "worker/device")]
    [InlineData("orleans.siloPort=70000", "siloPort")]
    [InlineData("postgresql.connectionString=Host=db;Password=secret", "postgresql")]
    public async Task The_schema_refuses_wrong_values(string setting, string named)
    {
        var result = await Chart.TryTemplateAsync("--set", setting);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(named, result.Error);
    }

    [SkippableTheory]
    [InlineData("postgresql.existingSecret=", "postgresql.existingSecret")]
    [InlineData("tls.secretName=", "tls.secretName")]
    public async Task Missing_secrets_fail_with_a_clear_message(string setting, string named)
    {
        var result = await Chart.TryTemplateAsync("--set", setting);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(named, result.Error);
    }
}
