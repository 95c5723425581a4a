using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>The Grafana dashboards in dashboards/: their panels, queries and template variables.</summary>
public sealed record Dashboard(string File, JsonObject Json)
{
    public static readonly string Directory = Path.Combine(typeof(Dashboard).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!, "dashboards");

    public static readonly string[] Files = ["particlegrid-cluster.json", "particlegrid-workers.json", "particlegrid-qa.json"];

    public static IReadOnlyList<Dashboard> All() =>
        [.. Files.Select(file =>
        {
            string path = Path.Combine(Directory, file);
            Assert.True(System.IO.File.Exists(path), $"{path} is missing");
            var node = JsonNode.Parse(System.IO.File.ReadAllText(path));   // throws on invalid JSON, with the position
            return new Dashboard(file, Assert.IsType<JsonObject>(node));
        })];

    public string Title => (string?)Json["title"] ?? "";

    /// <summary>Every panel, rows included, with the panels of collapsed rows.</summary>
    public IEnumerable<JsonObject> Panels()
    {
        foreach (var panel in Json["panels"]?.AsArray() ?? [])
        {
            var p = (JsonObject)panel!;
            yield return p;
            foreach (var nested in p["panels"]?.AsArray() ?? []) yield return (JsonObject)nested!;
        }
    }

    /// <summary>Panels that query (rows only group others).</summary>
    public IEnumerable<JsonObject> QueryPanels() => Panels().Where(p => (string?)p["type"] != "row");

    public IEnumerable<(string Panel, string Expr)> Queries() =>
        from panel in QueryPanels()
        from target in panel["targets"]?.AsArray() ?? []
        let expr = (string?)target!["expr"]
        where !string.IsNullOrWhiteSpace(expr)
        select ((string?)panel["title"] ?? $"panel {panel["id"]}", expr!);

    public IEnumerable<JsonObject> Variables() => (Json["templating"]?["list"]?.AsArray() ?? []).Select(v => (JsonObject)v!);

    /// <summary>The PromQL of the query variables: for label_values(selector, label) the selector and the label.</summary>
    public IEnumerable<(string Variable, string Selector, string Label)> VariableQueries()
    {
        foreach (var variable in Variables().Where(v => (string?)v["type"] == "query"))
        {
            var query = variable["query"];
            string text = (query is JsonObject o ? (string?)o["query"] : (string?)query) ?? "";
            var m = Regex.Match(text, @"^\s*label_values\((?<selector>.+),\s*(?<label>[a-zA-Z_]\w*)\s*\)\s*$");
            Assert.True(m.Success, $"{File}: variable {variable["name"]}: expected label_values(selector, label), found '{text}'");
            yield return ((string)variable["name"]!, m.Groups["selector"].Value, m.Groups["label"].Value);
        }
    }
}

/// <summary>The metric names a PromQL expression reads: what is left once functions, keywords, labels, strings, numbers,
/// durations and template variables are taken out.</summary>
public static partial class PromQl
{
    public static readonly HashSet<string> Functions = new(StringComparer.Ordinal)
    {
        // aggregations
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
        // functions
        "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "day_of_month", "day_of_week", "day_of_year",
        "days_in_month", "delta", "deriv", "exp", "floor", "histogram_avg", "histogram_count", "histogram_sum", "histogram_fraction",
        "histogram_quantile", "histogram_stddev", "histogram_stdvar", "holt_winters", "double_exponential_smoothing", "hour", "idelta",
        "increase", "irate", "label_join", "label_replace", "ln", "log2", "log10", "minute", "month", "predict_linear", "rate", "resets",
        "round", "scalar", "sgn", "sort", "sort_desc", "sort_by_label", "sort_by_label_desc", "sqrt", "time", "timestamp", "vector", "year",
        "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "quantile_over_time", "stddev_over_time",
        "stdvar_over_time", "last_over_time", "present_over_time", "mad_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos",
        "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad", "pi", "start", "end",
    };

    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "atan2",
    };

    /// <summary>The metric names in <paramref name="expr"/>; throws on a call of something that is no PromQL function.</summary>
    public static IReadOnlySet<string> MetricNames(string expr)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in NameMatcher().Matches(expr)) names.Add(m.Groups[1].Value);    // {__name__="x"}
        string s = StringLiteral().Replace(expr, "\"\"");                                   // label values, regexes
        s = LabelMatchers().Replace(s, " ");                                                 // {a="", b=~""}
        s = RangeOrSubquery().Replace(s, " ");                                               // [5m], [$__rate_interval], [1h:5m]
        s = Grouping().Replace(s, " ");                                                      // by (le, instance), on (instance), group_left (v)
        s = TemplateVariable().Replace(s, " ");                                              // $var, ${var}, ${var:regex}, [[var]]
        s = Number().Replace(s, " ");                                                        // 0.9, 1e3, 5m (offset)
        foreach (Match m in Identifier().Matches(s))
        {
            string name = m.Value;
            bool called = s.AsSpan(m.Index + m.Length).TrimStart().StartsWith("(");
            if (called)
            {
                if (!Functions.Contains(name)) throw new ArgumentException($"'{name}(' in '{expr}' is no PromQL function");
                continue;
            }
            if (Keywords.Contains(name)) continue;
            names.Add(name);
        }
        return names;
    }

    /// <summary>Names of the template variables an expression uses ($x, ${x}, ${x:fmt}, [[x]]), built-ins (<c>$__...</c>) included.</summary>
    public static IReadOnlySet<string> Variables(string expr) =>
        TemplateVariable().Matches(expr).Select(m => m.Groups["a"].Success ? m.Groups["a"].Value : m.Groups["b"].Success ? m.Groups["b"].Value : m.Groups["c"].Value)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>The expression as Grafana would send it with every variable at "All" (regex .*).</summary>
    public static string Substitute(string expr, string rateInterval, string range) =>
        TemplateVariable().Replace(expr.Replace("$__rate_interval", rateInterval).Replace("$__range", range).Replace("$__interval", rateInterval), ".*");

    [GeneratedRegex("__name__\\s*=\\s*\"([^\"]+)\"")] private static partial Regex NameMatcher();
    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")] private static partial Regex StringLiteral();
    [GeneratedRegex(@"\{[^{}]*\}")] private static partial Regex LabelMatchers();
    [GeneratedRegex(@"\[[^\[\]]*\]")] private static partial Regex RangeOrSubquery();
    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", RegexOptions.IgnoreCase)] private static partial Regex Grouping();
    [GeneratedRegex(@"\$\{(?<a>\w+)(?::[^}]*)?\}|\$(?<b>\w+)|\[\[(?<c>\w+)\]\]")] private static partial Regex TemplateVariable();
    [GeneratedRegex(@"(?<![\w:.])(?:0x[0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:ms|s|m|h|d|w|y)*)(?![\w:])")] private static partial Regex Number();
    [GeneratedRegex(@"[a-zA-Z_:][a-zA-Z0-9_:]*")] private static partial Regex Identifier();
}

/// <summary>A Prometheus text exposition: its metric families (from # TYPE) and the series names of its samples.</summary>
public sealed class Exposition
{
    public Exposition(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                Types[parts[2]] = parts[3];
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                int end = line.IndexOfAny(['{', ' ']);
                SeriesNames.Add(end < 0 ? line : line[..end]);
            }
        }
    }

    /// <summary>family name → counter, gauge, histogram, summary, untyped.</summary>
    public Dictionary<string, string> Types { get; } = new(StringComparer.Ordinal);

    public HashSet<string> SeriesNames { get; } = new(StringComparer.Ordinal);

    /// <summary>The family a series name belongs to: itself, or a histogram's (summary's) _bucket, _sum, _count.</summary>
    public (string Family, string Type)? FamilyOf(string series)
    {
        if (Types.TryGetValue(series, out var type)) return (series, type);
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (!series.EndsWith(suffix, StringComparison.Ordinal)) continue;
            string family = series[..^suffix.Length];
            if (Types.TryGetValue(family, out var t) && (t == "histogram" || (t == "summary" && suffix != "_bucket"))) return (family, t);
        }
        return null;
    }
}
