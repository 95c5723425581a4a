using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace ParticleGrid.Deploy.Tests.Support;

/// <summary>
/// YAML (one or many documents) as System.Text.Json nodes, so the tests can walk Kubernetes objects and compose
/// files alike. Every scalar stays a string, as written (8080 and "8080" read the same); aliases are resolved.
/// </summary>
public static class Yaml
{
    public static IReadOnlyList<JsonNode> LoadAll(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return [.. stream.Documents.Select(d => ToJson(d.RootNode)).OfType<JsonNode>()];
    }

    public static JsonNode Load(string text) =>
        LoadAll(text) is [var single] ? single : throw new FormatException($"expected one YAML document, found {LoadAll(text).Count}");

    public static JsonNode LoadFile(string path) => Load(File.ReadAllText(path));

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c =>
            KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode { Value: null or "" or "~" or "null", Style: YamlDotNet.Core.ScalarStyle.Plain } => null,
        YamlScalarNode scalar => JsonValue.Create(scalar.Value ?? ""),
        _ => null,
    };
}

/// <summary>Small helpers to read a JSON node tree with clear failures.</summary>
public static class Nodes
{
    /// <summary>The node at a dotted path ("spec.template.spec"), or null.</summary>
    public static JsonNode? At(this JsonNode? node, string path)
    {
        foreach (string part in path.Split('.'))
        {
            if (node is not JsonObject obj || !obj.TryGetPropertyValue(part, out node)) return null;
        }
        return node;
    }

    public static string? Text(this JsonNode? node, string path) => node.At(path) is JsonValue value ? value.ToString() : null;

    public static string Require(this JsonNode? node, string path) =>
        node.Text(path) ?? throw new Xunit.Sdk.XunitException($"'{path}' is missing in:\n{node?.ToJsonString()}");

    public static IReadOnlyList<JsonNode> Items(this JsonNode? node, string path) =>
        node.At(path) is JsonArray array ? [.. array.OfType<JsonNode>()] : [];

    public static IReadOnlyDictionary<string, string> Map(this JsonNode? node, string path) =>
        node.At(path) is JsonObject obj
            ? obj.Where(p => p.Value is JsonValue).ToDictionary(p => p.Key, p => p.Value!.ToString())
            : new Dictionary<string, string>();
}
