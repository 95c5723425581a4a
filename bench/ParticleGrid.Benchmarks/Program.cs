using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace ParticleGrid.Benchmarks;

/// <summary>
/// Micro-benchmarks of the pure parts of ParticleGrid. Pick with BenchmarkDotNet's switches, for example
/// <c>dotnet run -c Release --project bench/ParticleGrid.Benchmarks -- --filter '*Voter*' --job short</c>;
/// with no --filter it asks which to run. Reports go to artifacts/benchmarks at the repository root
/// (git ignores it) unless --artifacts says otherwise.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        IConfig config = DefaultConfig.Instance;
        if (FindRepositoryRoot() is { } root) config = config.WithArtifactsPath(Path.Combine(root, "artifacts", "benchmarks"));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    }

    /// <summary>The folder holding ParticleGrid.sln, above the working directory or the program; null when neither is in the repository.</summary>
    private static string? FindRepositoryRoot()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "ParticleGrid.sln"))) return folder.FullName;
            }
        }
        return null;
    }
}
