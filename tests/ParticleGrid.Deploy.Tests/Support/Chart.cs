using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace ParticleGrid.Deploy.Tests.Support;

/// <summary>The objects `helm template` renders for one set of values.</summary>
public sealed class Rendered(string text, IReadOnlyList<JsonNode> objects)
{
    public string Text { get; } = text;

    public IReadOnlyList<JsonNode> Objects { get; } = objects;

    public IEnumerable<JsonNode> OfKind(string kind) => Objects.Where(o => o.Text("kind") == kind);

    public JsonNode? Find(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => o.Text("metadata.name") == name);

    public JsonNode Get(string kind, string name) =>
        Find(kind, name) ?? throw new Xunit.Sdk.XunitException(
            $"no {kind} named {name}; rendered: {string.Join(", ", Objects.Select(o => $"{o.Text("kind")}/{o.Text("metadata.name")}"))}");

    public JsonNode Gateway => Get("Deployment", Chart.Release + "-gateway");

    public JsonNode Worker => Get("Deployment", Chart.Release + "-worker");

    public JsonNode ConfigMap => Get("ConfigMap", Chart.Release + "-config");

    public IEnumerable<JsonNode> Deployments => [Gateway, Worker];
}

/// <summary>
/// Runs helm on helm/particlegrid. Renders are cached per argument list: several tests read the same objects.
/// The release is named "pg" so the objects are "pg-particlegrid-...".
/// </summary>
public static class Chart
{
    public const string ReleaseName = "pg";
    public const string Release = "pg-particlegrid";
    public const string Namespace = "particlegrid";

    public static readonly string[] Default = [];
    public static readonly string[] Gpu = ["-f", "values-gpu.yaml"];
    public static readonly string[] Cpu = ["-f", "values-cpu.yaml"];

    public static string[] ValuesFile(string name) => name switch
    {
        "default" => Default,
        "gpu" => Gpu,
        "cpu" => Cpu,
        _ => throw new ArgumentException(name),
    };

    private static readonly ConcurrentDictionary<string, Lazy<Task<Rendered>>> Renders = new();

    public static Task<Rendered> TemplateAsync(params string[] arguments) =>
        Renders.GetOrAdd(string.Join('\u0001', arguments), _ => new Lazy<Task<Rendered>>(async () =>
        {
            var result = await TryTemplateAsync(arguments);
            Assert.True(result.ExitCode == 0, result.Describe($"helm template {string.Join(' ', arguments)}"));
            return new Rendered(result.Output, Yaml.LoadAll(result.Output));
        })).Value;

    public static Task<CommandResult> TryTemplateAsync(params string[] arguments) =>
        HelmAsync(["template", ReleaseName, ".", "--namespace", Namespace, .. arguments]);

    public static Task<CommandResult> HelmAsync(params string[] arguments) =>
        Command.RunAsync(Repository.Helm, arguments, Repository.Chart, timeout: TimeSpan.FromMinutes(1));

    /// <summary>The chart's values files, parsed.</summary>
    public static JsonNode Values(string file = "values.yaml") => Yaml.LoadFile(Path.Combine(Repository.Chart, file));

    public static JsonNode Container(JsonNode deployment) =>
        deployment.Items("spec.template.spec.containers").Single();

    /// <summary>A container's env as name -> the entry (value or valueFrom).</summary>
    public static IReadOnlyDictionary<string, JsonNode> Env(JsonNode deployment) =>
        Container(deployment).Items("env").ToDictionary(e => e.Require("name"));
}
