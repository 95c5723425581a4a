using System.Text.Json.Nodes;
using ParticleGrid.Deploy.Tests.Support;

namespace ParticleGrid.Deploy.Tests;

/// <summary>
/// docker/compose.yaml: it parses, its silos are the chart's (image, ports, PARTICLEGRID__* names and values, serve
/// arguments), and Prometheus and Grafana are wired to them.
/// </summary>
public sealed class ComposeTests
{
    private static readonly string[] Silos = ["gateway", "worker-1", "worker-2"];

    private static readonly JsonNode Compose = Yaml.LoadFile(Repository.PathOf("docker", "compose.yaml"));

    private static JsonNode Service(string name) =>
        Compose.At("services." + name) ?? throw new Xunit.Sdk.XunitException($"compose.yaml has no service '{name}'");

    /// <summary>A service's environment, in map or list form.</summary>
    private static IReadOnlyDictionary<string, string> Environment(JsonNode service) => service.At("environment") switch
    {
        JsonObject map => map.ToDictionary(p => p.Key, p => p.Value?.ToString() ?? ""),
        JsonArray list => list.Select(e => e!.ToString().Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : ""),
        _ => new Dictionary<string, string>(),
    };

    private static IEnumerable<string> Strings(JsonNode node, string path) => node.Items(path).Select(i => i.ToString());

    /// <summary>Container ports a service publishes ("8080:8080" -> 8080).</summary>
    private static IEnumerable<string> PublishedContainerPorts(JsonNode service) =>
        Strings(service, "ports").Select(p => p.Split(':')[^1].Split('/')[0]);

    /// <summary>A volume's (source, target, read-only) from its short form.</summary>
    private static IEnumerable<(string Source, string Target, bool ReadOnly)> Volumes(JsonNode service) =>
        Strings(service, "volumes").Select(SplitVolume).Select(p => (p[0], p[1], p.Count > 2 && p[2].Split(',').Contains("ro")));

    /// <summary>"${VAR:-../x}:/models:ro" -> [${VAR:-../x}, /models, ro]: colons inside ${...} stay.</summary>
    private static List<string> SplitVolume(string volume)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < volume.Length; i++)
        {
            if (volume[i] == '{' && i > 0 && volume[i - 1] == '$') depth++;
            else if (volume[i] == '}' && depth > 0) depth--;
            else if (volume[i] == ':' && depth == 0)
            {
                parts.Add(volume[start..i]);
                start = i + 1;
            }
        }
        parts.Add(volume[start..]);
        return parts;
    }

    [Fact]
    public void Parses_with_postgres_a_gateway_two_workers_prometheus_and_grafana()
    {
        var services = Compose.At("services") as JsonObject;
        Assert.NotNull(services);
        Assert.Equal(["gateway", "grafana", "postgres", "prometheus", "worker-1", "worker-2"], services.Select(s => s.Key).Order());
        Assert.Equal("gateway", Environment(Service("gateway"))["PARTICLEGRID__ROLES"]);
        Assert.All(new[] { "worker-1", "worker-2" }, w => Assert.Equal("worker", Environment(Service(w))["PARTICLEGRID__ROLES"]));
    }

    [SkippableFact]
    public async Task Silos_use_the_charts_image_and_serve_arguments()
    {
        var values = Chart.Values();
        var rendered = await Chart.TemplateAsync(Chart.Cpu);
        string image = Chart.Container(rendered.Gateway).Require("image");
        Assert.Equal(values.Require("image.repository") + ":" + values.Require("image.tag"), image);
        Assert.Equal(image, Chart.Container(rendered.Worker).Require("image"));
        var args = Chart.Container(rendered.Worker).Items("args").Select(a => a.ToString()).ToList();
        var dockerfileCmd = new Dockerfile(Repository.PathOf("docker", "Dockerfile.cpu")).Last("CMD").ExecForm;
        Assert.Equal(args, dockerfileCmd);
        foreach (string silo in Silos)
        {
            var service = Service(silo);
            Assert.Equal(image, service.Require("image"));
            Assert.Equal("docker/Dockerfile.cpu", service.Require("build.dockerfile"));
            Assert.Equal(Repository.Root.TrimEnd('/'), Path.GetFullPath(Path.Combine(Repository.Docker, service.Require("build.context"))).TrimEnd('/'));
            Assert.Equal(args, Strings(service, "command"));
        }
        // The trial PostgreSQL is the chart's bundled one.
        Assert.Equal(values.Require("postgresql.bundled.image.repository") + ":" + values.Require("postgresql.bundled.image.tag"),
            Service("postgres").Require("image"));
    }

    [SkippableFact]
    public async Task Silos_use_the_charts_environment_names_and_shared_values()
    {
        var rendered = await Chart.TemplateAsync(Chart.Cpu);
        var shared = rendered.ConfigMap.Map("data");
        foreach (string silo in Silos)
        {
            var deployment = silo == "gateway" ? rendered.Gateway : rendered.Worker;
            var chartNames = shared.Keys.Concat(Chart.Env(deployment).Keys).ToHashSet();
            var env = Environment(Service(silo));
            Assert.All(env.Keys, name => Assert.True(chartNames.Contains(name),
                $"{silo} sets {name}, which the chart's {deployment.Require("metadata.name")} does not: {string.Join(", ", chartNames.Order())}"));
            foreach (var (name, value) in env.Where(e => shared.ContainsKey(e.Key)))
                Assert.True(shared[name] == value, $"{silo}: {name}={value}, the chart's ConfigMap has {shared[name]}");
            Assert.Equal(Chart.Env(deployment)["PARTICLEGRID__ROLES"].Require("value"), env["PARTICLEGRID__ROLES"]);
        }
        // Workers here run on CPU, as with values-cpu.yaml.
        foreach (string worker in new[] { "worker-1", "worker-2" })
            Assert.Equal(Chart.Env(rendered.Worker)["PARTICLEGRID__WORKER__DEVICE"].Require("value"), Environment(Service(worker))["PARTICLEGRID__WORKER__DEVICE"]);
    }

    [Fact]
    public void Silos_reach_the_compose_postgres_with_its_credentials()
    {
        var postgres = Environment(Service("postgres"));
        foreach (string silo in Silos)
        {
            var parts = Environment(Service(silo))["PARTICLEGRID__POSTGRESCONNECTIONSTRING"].Split(';', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Split('=', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
            Assert.Equal("postgres", parts["Host"]);
            Assert.Equal(postgres["POSTGRES_USER"], parts["Username"]);
            Assert.Equal(postgres["POSTGRES_PASSWORD"], parts["Password"]);
            Assert.Equal(postgres["POSTGRES_DB"], parts["Database"]);
            Assert.Contains(Service(silo).At("depends_on") is JsonObject d ? d.Select(p => p.Key) : Strings(Service(silo), "depends_on"), s => s == "postgres");
        }
    }

    [Fact]
    public void Silos_use_the_charts_ports_and_model_mount()
    {
        var values = Chart.Values();
        string http = values.Require("http.port"), silo = values.Require("orleans.siloPort"), gateway = values.Require("orleans.gatewayPort");
        Assert.Equal([gateway, http], PublishedContainerPorts(Service("gateway")).Order());
        foreach (string name in Silos)
        {
            var service = Service(name);
            var env = Environment(service);
            Assert.Equal((silo, gateway), (env["PARTICLEGRID__SILOPORT"], env["PARTICLEGRID__GATEWAYPORT"]));
            Assert.Contains(silo, Strings(service, "expose"));
            var models = Assert.Single(Volumes(service), v => v.Target == values.Require("models.mountPath"));
            Assert.True(models.ReadOnly, $"{name}: the models are mounted writable");
        }
    }

    [Fact]
    public void Every_published_port_is_on_loopback_only()
    {
        // The Orleans gateway (30000) above all: on all interfaces, anyone on the network could try it (docs/security.md).
        var published = Compose.At("services")!.AsObject().SelectMany(s => Strings(s.Value!, "ports").Select(p => (Service: s.Key, Port: p))).ToList();
        Assert.Contains(published, p => p.Port.EndsWith(":30000", StringComparison.Ordinal));
        Assert.All(published, p => Assert.True(p.Port.StartsWith("127.0.0.1:", StringComparison.Ordinal), $"{p.Service} publishes {p.Port} on every interface"));
    }

    [Fact]
    public void Silos_talk_mutual_tls_with_the_local_site_ca_from_make_certs()
    {
        string script = File.ReadAllText(Repository.PathOf("docker", "make-certs.sh"));
        foreach (string name in Silos)
        {
            var service = Service(name);
            var env = Environment(service);
            Assert.DoesNotContain("PARTICLEGRID__TLS__INSECURE", env.Keys);
            var mounts = Volumes(service).ToList();
            foreach (string variable in new[] { "PARTICLEGRID__TLS__CERTIFICATEPATH", "PARTICLEGRID__TLS__CACERTIFICATEPATH" })
            {
                // Each file the silo reads is mounted read-only from docker/certs, where make-certs.sh writes it.
                var mount = Assert.Single(mounts, m => m.Target == env[variable]);
                Assert.True(mount.ReadOnly, $"{name}: {mount.Target} is mounted writable");
                Assert.StartsWith("./certs/", mount.Source);
                Assert.Contains(Path.GetFileName(mount.Source), script);
            }
            Assert.Contains($"pass:{env["PARTICLEGRID__TLS__CERTIFICATEPASSWORD"]}", script);
        }
    }

    [SkippableFact]
    public async Task Prometheus_scrapes_the_metrics_of_every_silo()
    {
        var prometheus = Service("prometheus");
        var config = Assert.Single(Volumes(prometheus), v => v.Source.EndsWith("prometheus.yml"));
        Assert.Contains($"--config.file={config.Target}", Strings(prometheus, "command"));
        string file = Path.GetFullPath(Path.Combine(Repository.Docker, config.Source));
        Assert.Equal(Repository.PathOf("docker", "prometheus", "prometheus.yml"), file);

        string metricsPort = Chart.Values().Require("metrics.port");
        var scraped = new HashSet<string>();
        foreach (var job in Yaml.LoadFile(file).Items("scrape_configs"))
        {
            Assert.Equal("/metrics", job.Text("metrics_path") ?? "/metrics");
            foreach (var target in job.Items("static_configs").SelectMany(s => s.Items("targets")))
                scraped.Add(target.ToString());
        }
        Assert.Equal(Silos.Select(s => $"{s}:{metricsPort}").Order(), scraped.Order());

        var check = await Command.RunAsync(Repository.Promtool, ["check", "config", file]);
        Assert.True(check.ExitCode == 0, check.Describe("promtool check config"));
    }

    [Fact]
    public void Grafana_provisions_the_prometheus_datasource_and_the_repository_dashboards()
    {
        var grafana = Service("grafana");
        var volumes = Volumes(grafana).ToList();
        var provisioning = Assert.Single(volumes, v => v.Target == "/etc/grafana/provisioning");
        Assert.True(provisioning.ReadOnly);
        string provisioningDir = Path.GetFullPath(Path.Combine(Repository.Docker, provisioning.Source));
        Assert.Equal(Repository.PathOf("docker", "grafana", "provisioning"), provisioningDir);

        var datasource = Assert.Single(Yaml.LoadFile(Path.Combine(provisioningDir, "datasources", "prometheus.yaml")).Items("datasources"));
        Assert.Equal("prometheus", datasource.Require("type"));
        var url = new Uri(datasource.Require("url"));
        Assert.True(Compose.At("services." + url.Host) is not null, $"the datasource points at {url.Host}, not a compose service");
        Assert.Contains(Strings(Service(url.Host), "ports"), p => p.EndsWith($":{url.Port}:{url.Port}", StringComparison.Ordinal));

        var provider = Assert.Single(Yaml.LoadFile(Path.Combine(provisioningDir, "dashboards", "particlegrid.yaml")).Items("providers"));
        var dashboards = Assert.Single(volumes, v => v.Target == provider.Require("options.path"));
        Assert.True(dashboards.ReadOnly, "the dashboards are mounted writable");
        Assert.Equal(Repository.PathOf("dashboards").TrimEnd('/'), Path.GetFullPath(Path.Combine(Repository.Docker, dashboards.Source)).TrimEnd('/'));
    }
}
