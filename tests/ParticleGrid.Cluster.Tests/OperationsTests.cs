using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ParticleGrid.Cluster.Tests.Support;
using Xunit.Abstractions;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// What operators rely on: the Grafana dashboards in dashboards/ query only what a real host exports, the host's
/// /metrics passes promtool for ParticleGrid's own metrics, and a real Prometheus scrapes it and answers every panel.
/// One embedded host (<see cref="OperationsHost"/>) serves all of them: it has classified particles sent through its
/// gateway, failed a corrupt image and rejected an HTTP item that was not base64.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class OperationsTests(TinyModels models, OperationsHost operations, ITestOutputHelper output) : IClassFixture<OperationsHost>
{
    /// <summary>Series Prometheus makes itself for every target; the host does not export them.</summary>
    private static readonly HashSet<string> PrometheusSeries = ["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"];

    private static readonly HashSet<string> GrafanaBuiltIns = ["__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms"];

    [Fact]
    public void Every_dashboard_is_Grafana_JSON_with_a_title_a_uid_and_panels_that_each_have_a_Prometheus_datasource_and_a_query()
    {
        var dashboards = Dashboard.All();
        Assert.Equal(dashboards.Count, dashboards.Select(d => (string?)d.Json["uid"]).Distinct().Count());
        foreach (var dashboard in dashboards)
        {
            string where = dashboard.File;
            Assert.False(string.IsNullOrWhiteSpace(dashboard.Title), $"{where}: no title");
            string? uid = (string?)dashboard.Json["uid"];
            Assert.False(string.IsNullOrWhiteSpace(uid), $"{where}: no uid");
            Assert.True(uid!.Length <= 40 && Regex.IsMatch(uid, "^[a-zA-Z0-9_-]+$"), $"{where}: uid '{uid}' is not a valid Grafana uid");
            Assert.True(dashboard.Json["schemaVersion"]?.GetValue<int>() >= 36, $"{where}: schemaVersion");
            Assert.True(dashboard.Json["id"] is null, $"{where}: a provisioned dashboard must not carry a database id");
            Assert.NotEmpty(dashboard.QueryPanels());

            // The datasource: a variable of type datasource (Prometheus, defaulting to the provisioned uid "prometheus"), or that uid.
            var variables = dashboard.Variables().ToDictionary(v => (string)v["name"]!, v => v);
            string[] datasourceUids = ["prometheus", .. variables.Values.Where(v => (string?)v["type"] == "datasource" && (string?)v["query"] == "prometheus")
                .Select(v => "${" + (string)v["name"]! + "}")];
            foreach (var v in variables.Values.Where(v => (string?)v["type"] == "datasource"))
                Assert.Equal("prometheus", (string?)v["current"]?["value"]);

            var ids = new HashSet<int>();
            var occupied = new List<(int X, int Y, int W, int H, string Title)>();
            foreach (var panel in dashboard.Panels())
            {
                string title = (string?)panel["title"] ?? "";
                string at = $"{where}: panel '{title}'";
                Assert.True(ids.Add(panel["id"]!.GetValue<int>()), $"{at}: duplicate id");
                var grid = panel["gridPos"] as JsonObject;
                Assert.True(grid is not null, $"{at}: no gridPos");
                var (x, y, w, h) = (grid!["x"]!.GetValue<int>(), grid["y"]!.GetValue<int>(), grid["w"]!.GetValue<int>(), grid["h"]!.GetValue<int>());
                Assert.True(x >= 0 && w > 0 && h > 0 && x + w <= 24, $"{at}: gridPos {grid.ToJsonString()} is off the 24-column grid");
                var overlap = occupied.FirstOrDefault(o => x < o.X + o.W && o.X < x + w && y < o.Y + o.H && o.Y < y + h);
                Assert.True(overlap.Title is null, $"{at} overlaps '{overlap.Title}'");
                occupied.Add((x, y, w, h, title));
                if ((string?)panel["type"] == "row") continue;

                Assert.False(string.IsNullOrWhiteSpace(title), $"{where}: panel {panel["id"]} has no title");
                AssertPrometheusDatasource(panel["datasource"], datasourceUids, at);
                var targets = panel["targets"]?.AsArray() ?? [];
                Assert.True(targets.Count > 0, $"{at}: no target");
                Assert.Equal(targets.Count, targets.Select(t => (string?)t!["refId"]).Distinct().Count());
                foreach (var target in targets)
                {
                    Assert.False(string.IsNullOrWhiteSpace((string?)target!["expr"]), $"{at}: target {target["refId"]} has no expr");
                    if (target["datasource"] is not null) AssertPrometheusDatasource(target["datasource"], datasourceUids, at);
                }
            }
            foreach (var variable in variables.Values.Where(v => (string?)v["type"] == "query"))
                AssertPrometheusDatasource(variable["datasource"], datasourceUids, $"{where}: variable {variable["name"]}");

            // Variables: each one used is defined, and used as a regex matcher (=~) so that "All" (.*) and multi-select work.
            foreach (var (panel, expr) in dashboard.Queries().Concat(dashboard.VariableQueries().Select(q => ($"variable {q.Variable}", q.Selector))))
            {
                foreach (var name in PromQl.Variables(expr).Where(n => !GrafanaBuiltIns.Contains(n)))
                {
                    Assert.True(variables.ContainsKey(name), $"{where}: '{panel}' uses ${name}, which is not a template variable");
                    Assert.Matches($"[a-zA-Z_]\\w*\\s*=~\\s*\"\\$(\\{{{name}\\}}|{name}\\b)", expr);
                }
            }
        }
    }

    private static void AssertPrometheusDatasource(JsonNode? datasource, string[] uids, string at)
    {
        Assert.True(datasource is JsonObject, $"{at}: no datasource");
        Assert.Equal("prometheus", (string?)datasource!["type"]);
        string? uid = (string?)datasource["uid"];
        Assert.True(uids.Contains(uid), $"{at}: datasource uid '{uid}' is neither 'prometheus' nor a datasource variable ({string.Join(", ", uids)})");
    }

    /// <summary>Orleans' label names as the host exports them again (OrleansMetricsInBaseUnits): what promtool asks for.</summary>
    [Theory]
    [InlineData("ConnectionDirection", "connection_direction")]
    [InlineData("MessageDirection", "message_direction")]
    [InlineData("state_name", "state_name")]
    [InlineData("HTTPStatus", "http_status")]
    [InlineData("Silo", "silo")]
    public void Orleans_label_names_are_exported_in_snake_case(string label, string exported) =>
        Assert.Equal(exported, ParticleGrid.Host.Hosting.OrleansMetricsInBaseUnits.ToSnakeCase(label));

    [Theory]
    [InlineData("histogram_quantile(0.9, sum by (le, instance) (rate(a_bucket{instance=~\"$instance\", x=\"by (y)\"}[$__rate_interval])))", "a_bucket")]
    [InlineData("sum(rate(a_total[5m])) by (job) / on (instance) group_left (version) b_info offset 1h", "a_total b_info")]
    [InlineData("count(up{instance=~\"${instance:regex}\"} == 0) or vector(0)", "up")]
    [InlineData("(sum by (lot) (increase(u_total[$__range])) or 0 * sum by (lot) (c_total)) / 1e3 > bool 0.5", "u_total c_total")]
    [InlineData("max_over_time(g[1h:5m]) unless ignoring (le) {__name__=\"n:rule\"}", "g n:rule")]
    [InlineData("topk(5, sum without (type) (log10(x_seconds_sum)))", "x_seconds_sum")]
    public void Metric_names_are_read_out_of_PromQL(string expr, string names) =>
        Assert.Equal(names.Split(' ').Order(), PromQl.MetricNames(expr).Order());

    [Fact]
    public async Task Workers_say_in_their_metrics_which_engine_runs_their_networks()
    {
        await operations.StartAsync(models);
        var lines = operations.Metrics.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("particlegrid_model_set_info{", StringComparison.Ordinal) && l.Contains("engine=\"onnxruntime\""));
        Assert.Contains(lines, l => l.StartsWith("particlegrid_inference_duration_seconds_count{", StringComparison.Ordinal) && l.Contains("engine=\"onnxruntime\""));
    }

    [Fact]
    public async Task Every_metric_a_dashboard_panel_queries_is_exported_by_a_host_and_every_ParticleGrid_metric_is_on_a_dashboard()
    {
        await operations.StartAsync(models);
        var exposition = new Exposition(operations.Metrics);
        var problems = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        int queries = 0;
        foreach (var dashboard in Dashboard.All())
        {
            var all = dashboard.Queries().Concat(dashboard.VariableQueries().Select(q => ($"variable ${q.Variable}", q.Selector)));
            foreach (var (panel, expr) in all)
            {
                queries++;
                foreach (var name in PromQl.MetricNames(expr))
                {
                    string at = $"{dashboard.File}: '{panel}': {name} in {expr}";
                    if (PrometheusSeries.Contains(name)) continue;
                    var family = exposition.FamilyOf(name);
                    if (!exposition.SeriesNames.Contains(name) || family is null)
                    {
                        problems.Add($"{at}: the host exports no series {name}");
                        continue;
                    }
                    used.Add(family.Value.Family);
                    if (family.Value.Type is "histogram" or "summary" && family.Value.Family == name)
                        problems.Add($"{at}: {name} is a {family.Value.Type}: query its _bucket, _sum or _count");
                    if (family.Value.Type == "gauge" && Regex.IsMatch(expr, $@"\b(rate|irate|increase)\s*\(\s*{Regex.Escape(name)}\b"))
                        problems.Add($"{at}: rate/increase of a gauge");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var unused = exposition.Types.Keys.Where(f => f.StartsWith("particlegrid_", StringComparison.Ordinal) && !used.Contains(f)).ToList();
        Assert.True(unused.Count == 0, $"ParticleGrid metrics no dashboard shows: {string.Join(", ", unused)}");
        output.WriteLine($"{queries} queries; {used.Count} metric families used, all exported: {string.Join(", ", used.Order())}");
    }

    [SkippableFact]
    public async Task Promtool_finds_nothing_wrong_with_any_metric_of_a_real_scrape()
    {
        Prerequisite.Prometheus.SkipIfMissing();
        string promtool = PrometheusServer.Tool("promtool");
        await operations.StartAsync(models);
        string metrics = await operations.ScrapeAsync();
        Assert.Contains("particlegrid_particles_failed_total{", metrics);
        Assert.Contains("particlegrid_particles_rejected_total{", metrics);

        var start = new ProcessStartInfo(promtool, ["check", "metrics"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(metrics);
        process.StandardInput.Close();
        Assert.True(process.WaitForExit(30_000), "promtool check metrics did not finish in 30 s");
        string report = (await stdout) + (await stderr);

        // 0: clean; 3: lint findings (one a line, "<metric> <finding>"); anything else, e.g. 1, is a parse error. Orleans'
        // own instruments included: the ones in milliseconds, megabytes or with camelCase labels are exported converted
        // (OrleansMetricsInBaseUnits), so there is no third-party finding left to argue.
        Assert.True(process.ExitCode == 0 && report.Trim().Length == 0, $"promtool check metrics exited with {process.ExitCode}:\n{report}");

        // The converted Orleans series are there, under their base units' names, and the originals are not.
        var exposition = new Exposition(metrics);
        foreach (var family in new[] { "orleans_storage_write_latency_seconds", "orleans_catalog_activation_latency_seconds", "orleans_runtime_available_memory_bytes" })
            Assert.True(exposition.Types.ContainsKey(family), $"{family} is not exported");
        Assert.DoesNotContain(exposition.Types.Keys, family => family.EndsWith("_milliseconds", StringComparison.Ordinal) || family.EndsWith("_megabytes", StringComparison.Ordinal));
        Assert.DoesNotContain("ConnectionDirection=", metrics);
        output.WriteLine($"promtool check metrics: exit 0, no finding, on {exposition.Types.Count} metric families");
        foreach (var line in metrics.Split('\n').Where(l => l.StartsWith("orleans_storage_write_latency_seconds_bucket", StringComparison.Ordinal)
                     || l.StartsWith("orleans_runtime_available_memory_bytes", StringComparison.Ordinal) || l.StartsWith("orleans_messaging_sent_messages_size_bytes_count", StringComparison.Ordinal)).Take(30))
            output.WriteLine(line);
    }

    [SkippableFact]
    public async Task A_real_Prometheus_scrapes_the_host_and_answers_every_dashboard_query()
    {
        Prerequisite.Prometheus.SkipIfMissing();
        await operations.StartAsync(models);
        var clock = Stopwatch.StartNew();
        await using var prometheus = await PrometheusServer.StartAsync(operations.MetricsAddress);
        output.WriteLine($"prometheus ready after {clock.Elapsed.TotalSeconds:F1} s");

        // The target is up, scraped without a token.
        JsonElement target = default;
        await Eventually(async () =>
        {
            var targets = await prometheus.ApiAsync("/api/v1/targets?state=active");
            target = targets.GetProperty("activeTargets").EnumerateArray()
                .FirstOrDefault(t => t.GetProperty("labels").GetProperty("job").GetString() == PrometheusServer.Job);
            return target.ValueKind == JsonValueKind.Object && target.GetProperty("health").GetString() == "up";
        }, () => $"the target is not up: {target}\n{prometheus.Log}");
        Assert.Equal(operations.MetricsAddress, target.GetProperty("labels").GetProperty("instance").GetString());
        output.WriteLine($"target up after {clock.Elapsed.TotalSeconds:F1} s: {target.GetProperty("scrapeUrl").GetString()}");

        IReadOnlyList<JsonElement> classified = [];
        await Eventually(async () => (classified = await prometheus.QueryAsync("particlegrid_particles_classified_total")).Count > 0,
            () => $"particlegrid_particles_classified_total has no result\n{prometheus.Log}");
        Assert.All(classified, series => Assert.Equal(operations.MetricsAddress, series.GetProperty("metric").GetProperty("instance").GetString()));
        Assert.Contains(classified, s => s.GetProperty("metric").GetProperty("lot").GetString() == OperationsHost.GrpcLot);
        Assert.Contains(classified, s => s.GetProperty("metric").GetProperty("lot").GetString() == OperationsHost.HttpLot);
        var up = Assert.Single(await prometheus.QueryAsync($"up{{job=\"{PrometheusServer.Job}\"}}"));
        Assert.Equal("1", up.GetProperty("value")[1].GetString());

        // Every panel's query, with the variables at "All", is valid PromQL and has data (rates need two scrapes),
        // and every variable finds values.
        var queries = Dashboard.All().SelectMany(d => d.Queries().Select(q => (d.File, q.Panel, Expr: PromQl.Substitute(q.Expr, "10s", "1h")))).ToList();
        var empty = queries.ToList();
        await Eventually(async () =>
        {
            var stillEmpty = new List<(string, string, string)>();
            foreach (var query in empty)
                if ((await prometheus.QueryAsync(query.Expr)).Count == 0) stillEmpty.Add(query);
            empty = stillEmpty;
            return empty.Count == 0;
        }, () => "queries without data:\n" + string.Join("\n", empty.Select(q => $"{q.File}: '{q.Panel}': {q.Expr}")));
        foreach (var dashboard in Dashboard.All())
        foreach (var (variable, selector, label) in dashboard.VariableQueries())
        {
            var values = await prometheus.ApiAsync($"/api/v1/label/{label}/values?match[]={Uri.EscapeDataString(PromQl.Substitute(selector, "10s", "1h"))}");
            Assert.True(values.GetArrayLength() > 0, $"{dashboard.File}: variable {variable} finds no {label}");
        }
        output.WriteLine($"{queries.Count} panel queries answered with data after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.False(prometheus.HasExited, prometheus.Log);
    }

    private static async Task Eventually(Func<Task<bool>> condition, Func<string> failure, double seconds = 30)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(seconds); ; await Task.Delay(250))
        {
            if (await condition()) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"after {seconds} s: {failure()}");
        }
    }
}
