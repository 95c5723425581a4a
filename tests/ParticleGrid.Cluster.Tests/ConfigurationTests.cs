using Microsoft.Extensions.Configuration;
using ParticleGrid.Domain;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Cluster.Tests;

/// <summary>A silo refuses a configuration it cannot run with one line that says what to change.</summary>
public class ConfigurationTests
{
    [Theory]
    [InlineData("roles", "gateway,cook")]
    [InlineData("cluster without postgres", "")]
    [InlineData("cluster without TLS", "")]
    [InlineData("weighted without weights", "")]
    [InlineData("call larger than the queue", "")]
    [InlineData("advertised address", "not-an-ip")]
    [InlineData("failed share above one", "")]
    public void Nonsense_is_refused_with_what_to_change(string what, string value)
    {
        var options = new ParticleGridOptions();
        string expected;
        switch (what)
        {
            case "roles": options.Roles = value; expected = "use 'gateway', 'worker'"; break;
            case "cluster without postgres": options.Mode = HostingMode.Cluster; expected = "PostgreSQL connection string"; break;
            case "cluster without TLS":
                options.Mode = HostingMode.Cluster;
                options.PostgresConnectionString = "Host=127.0.0.1";
                expected = "cluster mode needs mutual TLS";
                break;
            case "weighted without weights": options.Worker.Vote = VoteRule.Weighted; expected = "one weight per model"; break;
            case "call larger than the queue": options.Worker.QueueCapacity = 64; options.Runs.ParticlesPerWorkerCall = 65; expected = "queue capacity (64)"; break;
            case "failed share above one": options.Verdict.MaxFailedShare = 2; expected = "MaxFailedShare 2 must be a share between 0 and 1"; break;
            default: options.AdvertisedIpAddress = value; expected = "is not an IP address"; break;
        }
        var error = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void The_verdict_settings_default_to_one_percent_failed_and_bind_from_configuration()
    {
        Assert.Equal(0.01, new ParticleGridOptions().Verdict.MaxFailedShare);
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ParticleGrid:Verdict:MaxFailedShare"] = "0.05" })
            .Build();
        var options = configuration.GetSection(ParticleGridOptions.Section).Get<ParticleGridOptions>()!;
        Assert.Equal(0.05, options.Verdict.MaxFailedShare);
    }

    [Fact]
    public void Kubernetes_hosting_is_on_in_a_pod_unless_configured_otherwise()
    {
        bool inPod = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is not null && Environment.GetEnvironmentVariable("POD_NAME") is not null;
        Assert.Equal(inPod, new ParticleGridOptions().UsesKubernetesHosting);
        Assert.True(new ParticleGridOptions { KubernetesHosting = true }.UsesKubernetesHosting);
        Assert.False(new ParticleGridOptions { KubernetesHosting = false }.UsesKubernetesHosting);
    }

    [Fact]
    public void The_embedded_default_is_one_silo_with_both_roles_and_the_study_s_vote()
    {
        var options = new ParticleGridOptions();
        options.Validate();
        Assert.True(options.IsGateway && options.IsWorker);
        Assert.Equal(HostingMode.Embedded, options.Mode);
        var voter = options.Worker.CreateVoter();
        Assert.Equal((VoteRule.Soft, 0.90), (voter.Rule, voter.ConfidenceThreshold));
    }
}
