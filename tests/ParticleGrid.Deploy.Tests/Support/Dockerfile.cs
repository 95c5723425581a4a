using System.Text.Json;
using System.Text.RegularExpressions;

namespace ParticleGrid.Deploy.Tests.Support;

public sealed record Instruction(string Keyword, string Arguments)
{
    /// <summary>The exec form (a JSON array) as a list.</summary>
    public IReadOnlyList<string> ExecForm => JsonSerializer.Deserialize<string[]>(Arguments)
        ?? throw new FormatException($"{Keyword} is not in exec form: {Arguments}");
}

/// <summary>A Dockerfile's instructions: comments dropped, continuation lines joined, ARG defaults applied to FROM.</summary>
public sealed partial class Dockerfile
{
    public IReadOnlyList<Instruction> Instructions { get; }

    public string Path { get; }

    public Dockerfile(string path)
    {
        Path = path;
        var instructions = new List<Instruction>();
        string pending = "";
        foreach (string raw in File.ReadAllLines(path))
        {
            string line = raw.TrimEnd();
            if (pending.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0)) continue;
            if (pending.Length > 0 && line.TrimStart().StartsWith('#')) continue;
            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }
            string full = (pending + line).Trim();
            pending = "";
            int space = full.IndexOf(' ');
            instructions.Add(new Instruction(full[..space].ToUpperInvariant(), Whitespace().Replace(full[(space + 1)..].Trim(), " ")));
        }
        Instructions = instructions;
    }

    public IEnumerable<Instruction> All(string keyword) => Instructions.Where(i => i.Keyword == keyword);

    public Instruction Last(string keyword) => All(keyword).Last();

    /// <summary>The FROM images with global ARG defaults filled in.</summary>
    public IReadOnlyList<string> BaseImages()
    {
        var args = new Dictionary<string, string>();
        var images = new List<string>();
        foreach (var instruction in Instructions)
        {
            if (instruction.Keyword == "ARG" && instruction.Arguments.Split('=', 2) is [var name, var value]) args[name] = value;
            if (instruction.Keyword == "FROM")
            {
                string image = instruction.Arguments.Split(' ')[0];
                images.Add(ArgReference().Replace(image, m => args.GetValueOrDefault(m.Groups[1].Value + m.Groups[2].Value, m.Value)));
            }
        }
        return images;
    }

    /// <summary>
    /// The `dotnet publish` command of the one RUN that publishes, as arguments (RUN flags such as --mount dropped;
    /// the command must be the RUN's only command).
    /// </summary>
    public IReadOnlyList<string> PublishCommand()
    {
        var run = Assert.Single(All("RUN"), r => r.Arguments.Contains("dotnet publish"));
        string command = run.Arguments[run.Arguments.IndexOf("dotnet publish", StringComparison.Ordinal)..];
        Assert.DoesNotMatch("&&|;|\\|", command);
        return command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"\$\{(\w+)\}|\$(\w+)")]
    private static partial Regex ArgReference();
}
