namespace ParticleGrid.Deploy.Tests.Support;

/// <summary>
/// The tests that run dotnet publish (the CLI's, the gateway's, the instrument client's): one at a time, since
/// publishes of projects that share references (Domain, Imaging, Ingest, Host...) would write the same Release obj/
/// folders at once.
/// </summary>
[CollectionDefinition(Name)]
public sealed class Publishes
{
    public const string Name = "dotnet publish";

    /// <summary>No build servers left holding the test's output pipes.</summary>
    public static readonly IReadOnlyDictionary<string, string> Environment = new Dictionary<string, string>
    {
        ["MSBUILDDISABLENODEREUSE"] = "1",
        ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        ["UseSharedCompilation"] = "false",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
    };

    /// <summary>
    /// Runs <c>dotnet publish PROJECT -c Release -o DIRECTORY</c> from the repository root, fails the test with its output
    /// when it fails, and returns every file the publish wrote.
    /// </summary>
    public static async Task<string[]> ReleaseAsync(string project, string directory, TimeSpan timeout)
    {
        string[] arguments = ["publish", project, "-c", "Release", "-o", directory];
        var result = await Command.RunAsync("dotnet", arguments, Repository.Root, Environment, timeout);
        Assert.True(result.ExitCode == 0, result.Describe("dotnet " + string.Join(' ', arguments)));
        return Directory.GetFiles(directory, "*", SearchOption.AllDirectories);
    }

    /// <summary>The files of the networks' runtime (libtorch, TorchSharp, ONNX Runtime), which only a worker needs.</summary>
    public static string[] NetworkFiles(IEnumerable<string> files)
    {
        string[] forbidden = ["libtorch", "libLibTorchSharp", "libc10", "TorchSharp", "TorchVision", "onnxruntime", "libonnxruntime", "Microsoft.ML.OnnxRuntime"];
        return [.. files.Select(Path.GetFileName).OfType<string>().Where(name => forbidden.Any(f => name.StartsWith(f, StringComparison.OrdinalIgnoreCase)))];
    }
}
