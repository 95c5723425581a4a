using System.Reflection;

namespace ParticleGrid.Deploy.Tests.Support;

/// <summary>Where the repository and the tools the checks need are.</summary>
public static class Repository
{
    public static readonly string Root = Path.GetFullPath(typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!);

    public static string Chart => Path.Combine(Root, "helm", "particlegrid");

    public static string Docker => Path.Combine(Root, "docker");

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>
    /// helm: .tools/bin/helm (what .ci/tools.sh installs), else the first on PATH. A test that asks for it when it is
    /// missing is skipped (see <see cref="Prerequisites.Helm_is_installed"/>).
    /// </summary>
    public static string Helm
    {
        get
        {
            Prerequisite.Helm.SkipIfMissing();
            return Tool("helm", Path.Combine(Root, ".tools", "bin", "helm"));
        }
    }

    /// <summary>
    /// promtool: Debian's package prometheus (.ci/tools.sh installs it). A test that asks for it when it is missing is
    /// skipped (see <see cref="Prerequisites.Prometheus_is_installed"/>).
    /// </summary>
    public static string Promtool
    {
        get
        {
            Prerequisite.Prometheus.SkipIfMissing();
            return Tool("promtool", Path.Combine(Root, ".tools", "bin", "promtool"));
        }
    }

    private static string Tool(string name, string local)
    {
        if (File.Exists(local)) return local;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail($"{name} is not installed: neither {local} nor {name} on PATH. Run 'bash .ci/tools.sh' from {Root} (it installs helm into .tools/bin and Debian's prometheus for promtool).");
        return "";
    }
}
