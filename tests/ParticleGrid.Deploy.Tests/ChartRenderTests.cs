using System.Text.Json.Nodes;
using ParticleGrid.Deploy.Tests.Support;

namespace ParticleGrid.Deploy.Tests;

/// <summary>What `helm template` renders: the objects a cluster gets, for the default, GPU and CPU values.</summary>
public sealed class ChartRenderTests
{
    public static TheoryData<string> AllValues => ["default", "gpu", "cpu"];

    private static Task<Rendered> Render(string values) => Chart.TemplateAsync(Chart.ValuesFile(values));

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task Renders_gateway_and_worker_deployments_in_cluster_mode(string values)
    {
        var rendered = await Render(values);
        Assert.Equal("gateway", Chart.Env(rendered.Gateway)["PARTICLEGRID__ROLES"].Text("value"));
        Assert.Equal("worker", Chart.Env(rendered.Worker)["PARTICLEGRID__ROLES"].Text("value"));
        foreach (var deployment in rendered.Deployments)
        {
            var container = Chart.Container(deployment);
            Assert.Equal(Chart.Release + "-config", container.Items("envFrom").Single().Require("configMapRef.name"));
            // The host listens on all addresses at the chart's HTTP port, with its data directory on an emptyDir.
            var args = container.Items("args").Select(a => a.ToString()).ToList();
            Assert.Equal("http://0.0.0.0:8080", args[args.IndexOf("--urls") + 1]);
            Assert.Equal("/var/lib/particlegrid", args[args.IndexOf("--data-dir") + 1]);
            Assert.Contains(container.Items("volumeMounts"), m => m.Text("mountPath") == "/var/lib/particlegrid");
        }
        Assert.Equal("Cluster", rendered.ConfigMap.Require("data.PARTICLEGRID__MODE"));
    }

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task Only_gpu_workers_request_a_gpu_and_go_to_gpu_nodes(string values)
    {
        var rendered = await Render(values);
        var worker = rendered.Worker;
        var resources = Chart.Container(worker).At("resources");
        string? device = Chart.Env(worker)["PARTICLEGRID__WORKER__DEVICE"].Text("value");
        // Every worker takes the fastest engine its image has for its device unless told otherwise.
        Assert.Equal("auto", Chart.Env(worker)["PARTICLEGRID__WORKER__ENGINE"].Text("value"));
        if (values == "gpu")
        {
            Assert.Equal("1", resources?["limits"]?["nvidia.com/gpu"]?.ToString());
            Assert.Equal("1", resources?["requests"]?["nvidia.com/gpu"]?.ToString());
            Assert.Equal("cuda", device);
            Assert.NotEmpty(worker.Map("spec.template.spec.nodeSelector"));
            Assert.Contains(worker.Items("spec.template.spec.tolerations"), t => t.Text("key") == "nvidia.com/gpu" && t.Text("effect") == "NoSchedule");
            Assert.EndsWith("-gpu", Chart.Container(worker).Require("image"));
            // No spare GPU for a surge pod.
            Assert.Equal("0", worker.Text("spec.strategy.rollingUpdate.maxSurge"));
        }
        else
        {
            Assert.DoesNotContain("nvidia.com/gpu", worker.ToJsonString());
            Assert.Empty(worker.Items("spec.template.spec.tolerations"));
            Assert.Equal(values == "cpu" ? "cpu" : "auto", device);
            Assert.EndsWith("-cpu", Chart.Container(worker).Require("image"));
        }
        // Gateways never hold the networks: no GPU, no GPU nodes, the CPU image.
        Assert.DoesNotContain("nvidia.com/gpu", rendered.Gateway.ToJsonString());
        Assert.Null(Chart.Env(rendered.Gateway).GetValueOrDefault("PARTICLEGRID__WORKER__DEVICE"));
        Assert.EndsWith("-cpu", Chart.Container(rendered.Gateway).Require("image"));
    }

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task Silos_carry_the_orleans_labels_and_the_downward_api_environment(string values)
    {
        var rendered = await Render(values);
        foreach (var deployment in rendered.Deployments)
        {
            var labels = deployment.Map("spec.template.metadata.labels");
            Assert.Equal("particlegrid", labels["orleans/serviceId"]);
            Assert.Equal("particlegrid", labels["orleans/clusterId"]);
            var env = Chart.Env(deployment);
            Assert.Equal("metadata.name", env["POD_NAME"].Require("valueFrom.fieldRef.fieldPath"));
            Assert.Equal("metadata.namespace", env["POD_NAMESPACE"].Require("valueFrom.fieldRef.fieldPath"));
            Assert.Equal("status.podIP", env["POD_IP"].Require("valueFrom.fieldRef.fieldPath"));
            Assert.Equal("status.podIP", env["PARTICLEGRID__ADVERTISEDIPADDRESS"].Require("valueFrom.fieldRef.fieldPath"));
            Assert.Equal("metadata.labels['orleans/serviceId']", env["ORLEANS_SERVICE_ID"].Require("valueFrom.fieldRef.fieldPath"));
            Assert.Equal("metadata.labels['orleans/clusterId']", env["ORLEANS_CLUSTER_ID"].Require("valueFrom.fieldRef.fieldPath"));
            Assert.Equal(Chart.Release, deployment.Require("spec.template.spec.serviceAccountName"));
        }
        // ParticleGrid's own cluster identity is the same as the labels'.
        Assert.Equal("particlegrid", rendered.ConfigMap.Require("data.PARTICLEGRID__CLUSTERID"));
        Assert.Equal("particlegrid", rendered.ConfigMap.Require("data.PARTICLEGRID__SERVICEID"));
    }

    [SkippableFact]
    public async Task The_service_account_may_get_watch_list_and_delete_pods()
    {
        var rendered = await Render("default");
        Assert.NotNull(rendered.Find("ServiceAccount", Chart.Release));
        var role = rendered.Get("Role", Chart.Release + "-orleans");
        var rule = Assert.Single(role.Items("rules"));
        Assert.Equal([""], rule.Items("apiGroups").Select(g => g.ToString()));
        Assert.Equal(["pods"], rule.Items("resources").Select(g => g.ToString()));
        Assert.Equal(["delete", "get", "list", "watch"], rule.Items("verbs").Select(v => v.ToString()).Order());
        var binding = rendered.Get("RoleBinding", Chart.Release + "-orleans");
        Assert.Equal("Role", binding.Require("roleRef.kind"));
        Assert.Equal(role.Require("metadata.name"), binding.Require("roleRef.name"));
        var subject = Assert.Single(binding.Items("subjects"));
        Assert.Equal(("ServiceAccount", Chart.Release, Chart.Namespace), (subject.Require("kind"), subject.Require("name"), subject.Require("namespace")));
    }

    [SkippableFact]
    public async Task Services_expose_http_silo_and_gateway_ports_and_select_their_pods()
    {
        var rendered = await Render("default");
        var expected = new Dictionary<string, string> { ["http"] = "8080", ["silo"] = "11111", ["gateway"] = "30000" };
        // Pods listen on the metrics port too; the gateway's Service (possibly public) leaves it out, the workers' headless one has it.
        var containerPorts = new Dictionary<string, string>(expected) { ["metrics"] = "9464" };
        foreach (var (role, deployment) in new[] { ("gateway", rendered.Gateway), ("worker", rendered.Worker) })
        {
            var service = rendered.Get("Service", $"{Chart.Release}-{role}");
            Assert.Equal(role == "worker" ? containerPorts : expected, service.Items("spec.ports").ToDictionary(p => p.Require("name"), p => p.Require("port")));
            Assert.All(service.Items("spec.ports"), p => Assert.Equal(p.Require("name"), p.Require("targetPort")));
            Assert.Equal(containerPorts, Chart.Container(deployment).Items("ports").ToDictionary(p => p.Require("name"), p => p.Require("containerPort")));
            var podLabels = deployment.Map("spec.template.metadata.labels");
            Assert.All(service.Map("spec.selector"), s => Assert.Equal(s.Value, podLabels.GetValueOrDefault(s.Key)));
            Assert.Equal(deployment.Map("spec.selector.matchLabels"), service.Map("spec.selector"));
        }
        Assert.Equal("None", rendered.Get("Service", Chart.Release + "-worker").Require("spec.clusterIP"));
        Assert.Equal("11111", rendered.ConfigMap.Require("data.PARTICLEGRID__SILOPORT"));
        Assert.Equal("30000", rendered.ConfigMap.Require("data.PARTICLEGRID__GATEWAYPORT"));
    }

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task A_service_monitor_scrapes_metrics_on_both_services_when_enabled(string values)
    {
        var rendered = await Render(values);
        var monitors = rendered.OfKind("ServiceMonitor").ToList();
        if (values == "default")
        {
            Assert.Empty(monitors); // no Prometheus Operator needed by default
            monitors = [.. (await Chart.TemplateAsync("--set", "serviceMonitor.enabled=true")).OfKind("ServiceMonitor")];
        }
        var monitor = Assert.Single(monitors);
        Assert.Equal("monitoring.coreos.com/v1", monitor.Require("apiVersion"));
        var endpoint = Assert.Single(monitor.Items("spec.endpoints"));
        Assert.Equal(("metrics", "/metrics"), (endpoint.Require("port"), endpoint.Require("path")));
        var selector = monitor.Map("spec.selector.matchLabels");
        // Scraped through the workers' headless Service and the gateways' headless metrics Service, on the metrics port;
        // the gateway's own Service (which may be a LoadBalancer) neither matches nor carries that port.
        foreach (string name in new[] { "gateway-metrics", "worker" })
        {
            var service = rendered.Get("Service", $"{Chart.Release}-{name}");
            var labels = service.Map("metadata.labels");
            Assert.All(selector, s => Assert.Equal(s.Value, labels.GetValueOrDefault(s.Key)));
            Assert.Equal("None", service.Require("spec.clusterIP"));
            Assert.Contains(service.Items("spec.ports"), p => p.Require("name") == "metrics" && p.Require("port") == "9464");
        }
        var gateway = rendered.Get("Service", $"{Chart.Release}-gateway");
        Assert.False(selector.All(s => gateway.Map("metadata.labels").GetValueOrDefault(s.Key) == s.Value), "the gateway's own Service is scraped");
        Assert.DoesNotContain(gateway.Items("spec.ports"), p => p.Require("name") == "metrics");
        Assert.Equal("9464", rendered.ConfigMap.Require("data.PARTICLEGRID__METRICSPORT"));
        Assert.Equal([Chart.Namespace], monitor.Items("spec.namespaceSelector.matchNames").Select(n => n.ToString()));
    }

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task Workers_scale_on_the_queue_delay_custom_metric_when_autoscaling(string values)
    {
        var rendered = await Render(values);
        var hpas = rendered.OfKind("HorizontalPodAutoscaler").ToList();
        if (values == "default")
        {
            Assert.Empty(hpas); // no prometheus-adapter needed by default
            Assert.NotNull(rendered.Worker.Text("spec.replicas"));
            return;
        }
        var hpa = Assert.Single(hpas);
        Assert.Equal("autoscaling/v2", hpa.Require("apiVersion"));
        Assert.Equal(("Deployment", Chart.Release + "-worker"), (hpa.Require("spec.scaleTargetRef.kind"), hpa.Require("spec.scaleTargetRef.name")));
        var metric = Assert.Single(hpa.Items("spec.metrics"));
        Assert.Equal("Pods", metric.Require("type"));
        Assert.Equal("particlegrid_queue_delay_seconds_p90", metric.Require("pods.metric.name"));
        Assert.Equal(("AverageValue", "500m"), (metric.Require("pods.target.type"), metric.Require("pods.target.averageValue")));
        Assert.True(int.Parse(hpa.Require("spec.minReplicas")) <= int.Parse(hpa.Require("spec.maxReplicas")));
        // The HPA owns the replica count.
        Assert.Null(rendered.Worker.Text("spec.replicas"));

        // prometheus-adapter's rule serves that very metric name from the queue-delay histogram.
        var adapter = rendered.Get("ConfigMap", Chart.Release + "-prometheus-adapter");
        var rule = Assert.Single(Yaml.Load(adapter.At("data")?["config.yaml"]?.ToString() ?? "").Items("rules"));
        Assert.Equal("particlegrid_queue_delay_seconds_p90", rule.Require("name.as"));
        Assert.Contains("particlegrid_queue_delay_seconds_bucket", rule.Require("seriesQuery"));
        Assert.Contains("histogram_quantile(0.90", rule.Require("metricsQuery"));
    }

    [SkippableFact]
    public async Task The_adapter_rule_is_valid_promql()
    {
        // promtool checks the query that prometheus-adapter would send, with its template filled in for one pod.
        var rendered = await Render("cpu");
        var rule = Yaml.Load(rendered.Get("ConfigMap", Chart.Release + "-prometheus-adapter").At("data")?["config.yaml"]?.ToString() ?? "").Items("rules").Single();
        string query = rule.Require("metricsQuery")
            .Replace("<<.Series>>", "particlegrid_queue_delay_seconds_bucket")
            .Replace("<<.LabelMatchers>>", "namespace=\"particlegrid\",pod=~\"pg-particlegrid-worker-.*\"")
            .Replace("<<.GroupBy>>", "pod");
        string dir = Directory.CreateTempSubdirectory("particlegrid-rules-").FullName;
        try
        {
            string file = Path.Combine(dir, "rules.yml");
            File.WriteAllText(file, $"groups:\n  - name: particlegrid\n    rules:\n      - record: particlegrid:queue_delay_seconds:p90\n        expr: '{query}'\n");
            var result = await Command.RunAsync(Repository.Promtool, ["check", "rules", file]);
            Assert.True(result.ExitCode == 0, result.Describe($"promtool check rules ({query})"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task Disruption_budgets_cover_gateways_and_workers(string values)
    {
        var rendered = await Render(values);
        foreach (var (role, deployment) in new[] { ("gateway", rendered.Gateway), ("worker", rendered.Worker) })
        {
            var pdb = rendered.Get("PodDisruptionBudget", $"{Chart.Release}-{role}");
            Assert.Equal("policy/v1", pdb.Require("apiVersion"));
            Assert.Equal(deployment.Map("spec.selector.matchLabels"), pdb.Map("spec.selector.matchLabels"));
            Assert.True(pdb.Text("spec.maxUnavailable") is not null || pdb.Text("spec.minAvailable") is not null);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task Silos_have_startup_liveness_and_readiness_probes_on_the_health_endpoints(string values)
    {
        var rendered = await Render(values);
        foreach (var deployment in rendered.Deployments)
        {
            var container = Chart.Container(deployment);
            Assert.Equal(("/health/startup", "http"), (container.Require("startupProbe.httpGet.path"), container.Require("startupProbe.httpGet.port")));
            Assert.Equal(("/health/live", "http"), (container.Require("livenessProbe.httpGet.path"), container.Require("livenessProbe.httpGet.port")));
            Assert.Equal(("/health/ready", "http"), (container.Require("readinessProbe.httpGet.path"), container.Require("readinessProbe.httpGet.port")));
            // Start-up (loading and warming three networks) gets minutes before liveness applies.
            Assert.True(int.Parse(container.Require("startupProbe.periodSeconds")) * int.Parse(container.Require("startupProbe.failureThreshold")) >= 120);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task Silos_drain_gracefully(string values)
    {
        var rendered = await Render(values);
        foreach (var deployment in rendered.Deployments)
        {
            int grace = int.Parse(deployment.Require("spec.template.spec.terminationGracePeriodSeconds"));
            var preStop = Chart.Container(deployment).Items("lifecycle.preStop.exec.command").Select(c => c.ToString()).ToList();
            Assert.Equal("sleep", preStop[0]);
            int sleep = int.Parse(preStop[1]);
            // The endpoint leaves the Services first, and the silo still has most of the grace period to drain.
            Assert.InRange(sleep, 1, 30);
            Assert.True(grace >= sleep + 30, $"terminationGracePeriodSeconds {grace} leaves too little after preStop sleep {sleep}");
        }
    }

    [SkippableFact]
    public async Task Mutual_tls_is_on_by_default_with_the_site_certificate_and_ca_and_off_only_when_declared_insecure()
    {
        var on = await Render("default");
        foreach (var deployment in on.Deployments)
        {
            var env = Chart.Env(deployment);
            var volume = Assert.Single(deployment.Items("spec.template.spec.volumes"), v => v.At("secret") is not null);
            Assert.Equal("particlegrid-tls", volume.Require("secret.secretName"));
            var files = volume.Items("secret.items").Select(i => i.Require("path")).ToList();
            Assert.Equal(2, files.Count);
            var mount = Assert.Single(Chart.Container(deployment).Items("volumeMounts"), m => m.Require("name") == volume.Require("name"));
            Assert.Equal("true", mount.Require("readOnly"));
            // The PFX and the CA that is all the silos trust, both from the Secret; the password never in the manifest.
            Assert.Equal($"{mount.Require("mountPath")}/{files[0]}", env["PARTICLEGRID__TLS__CERTIFICATEPATH"].Require("value"));
            Assert.Equal($"{mount.Require("mountPath")}/{files[1]}", env["PARTICLEGRID__TLS__CACERTIFICATEPATH"].Require("value"));
            Assert.Null(env["PARTICLEGRID__TLS__CERTIFICATEPASSWORD"].Text("value"));
            Assert.Equal("particlegrid-tls", env["PARTICLEGRID__TLS__CERTIFICATEPASSWORD"].Require("valueFrom.secretKeyRef.name"));
            Assert.DoesNotContain("PARTICLEGRID__TLS__INSECURE", env.Keys);
        }

        // TLS off without saying the cluster is insecure: the chart refuses to render, and says what to do.
        var refused = await Chart.TryTemplateAsync("--set", "tls.enabled=false");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("cluster mode needs mutual TLS", refused.Describe("helm template"));

        var insecure = await Chart.TemplateAsync("--set", "tls.enabled=false", "--set", "tls.insecure=true");
        foreach (var deployment in insecure.Deployments)
        {
            Assert.Equal("true", Chart.Env(deployment)["PARTICLEGRID__TLS__INSECURE"].Require("value"));
            Assert.DoesNotContain(Chart.Env(deployment).Keys, k => k.StartsWith("PARTICLEGRID__TLS__CERT"));
            Assert.DoesNotContain(deployment.Items("spec.template.spec.volumes"), v => v.At("secret") is not null);
        }
    }

    [SkippableFact]
    public async Task Network_policy_opens_the_silo_and_gateway_ports_to_the_releases_silo_pods_only()
    {
        var rendered = await Render("default");
        var policy = Assert.Single(rendered.OfKind("NetworkPolicy"));
        Assert.Equal(["Ingress"], policy.Items("spec.policyTypes").Select(t => t.ToString()));
        // It governs the silos (gateway and worker pods) and not, say, the bundled PostgreSQL.
        foreach (var deployment in rendered.Deployments)
            Assert.True(Selects(policy.At("spec.podSelector")!, deployment.Map("spec.template.metadata.labels")), "the policy must select the silo pods");
        Assert.False(Selects(policy.At("spec.podSelector")!, new Dictionary<string, string>
        {
            ["app.kubernetes.io/name"] = "particlegrid", ["app.kubernetes.io/instance"] = Chart.ReleaseName, ["app.kubernetes.io/component"] = "postgresql",
        }));

        var rules = policy.Items("spec.ingress").ToList();
        var orleans = rules.Where(r => r.Items("ports").Any(p => p.Require("port") is "silo" or "gateway")).ToList();
        var fromSilos = Assert.Single(orleans);
        Assert.Equal(["gateway", "silo"], fromSilos.Items("ports").Select(p => p.Require("port")).Order());
        var peer = Assert.Single(fromSilos.Items("from"));
        Assert.Null(peer.At("namespaceSelector"));   // this namespace only
        Assert.Null(peer.At("ipBlock"));
        foreach (var deployment in rendered.Deployments)
            Assert.True(Selects(peer.At("podSelector")!, deployment.Map("spec.template.metadata.labels")));
        Assert.False(Selects(peer.At("podSelector")!, new Dictionary<string, string> { ["app"] = "anything-else" }));
        // HTTP stays reachable (ingress, Prometheus); nothing else is opened.
        var rest = Assert.Single(rules, r => r.At("from") is null);
        Assert.Equal(["http"], rest.Items("ports").Select(p => p.Require("port")));

        // Instrument PCs are let onto the gateway port, and only that port, when listed.
        var withPcs = await Chart.TemplateAsync("--set", "networkPolicy.gatewayClients[0].ipBlock.cidr=10.20.0.0/24");
        var pcs = Assert.Single(Assert.Single(withPcs.OfKind("NetworkPolicy")).Items("spec.ingress"), r => r.Items("from").Any(f => f.At("ipBlock") is not null));
        Assert.Equal(["gateway"], pcs.Items("ports").Select(p => p.Require("port")));
        Assert.Equal("10.20.0.0/24", Assert.Single(pcs.Items("from")).Require("ipBlock.cidr"));
    }

    /// <summary>Whether a label selector (matchLabels and In expressions, what the chart uses) selects these labels.</summary>
    private static bool Selects(JsonNode selector, IReadOnlyDictionary<string, string> labels) =>
        (selector.At("matchLabels") is null || selector.Map("matchLabels").All(l => labels.GetValueOrDefault(l.Key) == l.Value))
        && selector.Items("matchExpressions").All(e => e.Require("operator") == "In"
            && labels.TryGetValue(e.Require("key"), out var value) && e.Items("values").Select(v => v.ToString()).Contains(value));

    [SkippableFact]
    public async Task The_bundled_postgresql_is_rendered_only_when_enabled()
    {
        var off = await Render("default");
        Assert.Empty(off.OfKind("StatefulSet"));
        Assert.Empty(off.OfKind("Secret"));
        Assert.Null(off.Find("Service", Chart.Release + "-postgresql"));

        var on = await Chart.TemplateAsync("--set", "postgresql.bundled.enabled=true");
        string name = Chart.Release + "-postgresql";
        var statefulSet = on.Get("StatefulSet", name);
        var secret = on.Get("Secret", name);
        Assert.Equal("5432", Assert.Single(on.Get("Service", name).Items("spec.ports")).Require("port"));
        var postgres = statefulSet.Items("spec.template.spec.containers").Single();
        Assert.Equal(Chart.Values().Require("postgresql.bundled.image.repository") + ":" + Chart.Values().Require("postgresql.bundled.image.tag"), postgres.Require("image"));
        var password = postgres.Items("env").Single(e => e.Require("name") == "POSTGRES_PASSWORD");
        Assert.Equal(name, password.Require("valueFrom.secretKeyRef.name"));
        // Its Secret holds the silos' connection string, pointing at its Service.
        string connection = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(secret.Require("data.connectionString")));
        Assert.Contains($"Host={name}.{Chart.Namespace}.svc", connection);
        foreach (var deployment in on.Deployments)
            Assert.Equal(name, Chart.Env(deployment)["PARTICLEGRID__POSTGRESCONNECTIONSTRING"].Require("valueFrom.secretKeyRef.name"));
    }

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task The_connection_string_comes_from_a_secret_never_from_values(string values)
    {
        var rendered = await Render(values);
        foreach (var deployment in rendered.Deployments)
        {
            var connection = Chart.Env(deployment)["PARTICLEGRID__POSTGRESCONNECTIONSTRING"];
            Assert.Null(connection.Text("value"));
            Assert.Equal(("particlegrid-postgres", "connectionString"),
                (connection.Require("valueFrom.secretKeyRef.name"), connection.Require("valueFrom.secretKeyRef.key")));
        }
        Assert.DoesNotContain(rendered.ConfigMap.Map("data").Keys, k => k.Contains("POSTGRES", StringComparison.OrdinalIgnoreCase));
        // Nothing rendered outside a Secret carries a password.
        foreach (var obj in rendered.Objects.Where(o => o.Text("kind") != "Secret"))
            Assert.DoesNotContain("Password=", obj.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        foreach (string file in new[] { "values.yaml", "values-gpu.yaml", "values-cpu.yaml" })
        {
            string text = File.ReadAllText(Path.Combine(Repository.Chart, file));
            Assert.DoesNotMatch(@"(?im)^\s*[a-z]*connectionString\s*:", text);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(AllValues))]
    public async Task Gateways_and_workers_mount_the_model_claim_read_only_at_the_same_path(string values)
    {
        var rendered = await Render(values);
        var chartValues = Chart.Values();
        foreach (var deployment in rendered.Deployments)
        {
            var volume = Assert.Single(deployment.Items("spec.template.spec.volumes"), v => v.At("persistentVolumeClaim") is not null);
            Assert.Equal(chartValues.Require("models.existingClaim"), volume.Require("persistentVolumeClaim.claimName"));
            Assert.Equal("true", volume.Require("persistentVolumeClaim.readOnly"));
            var mount = Assert.Single(Chart.Container(deployment).Items("volumeMounts"), m => m.Require("name") == volume.Require("name"));
            Assert.Equal((chartValues.Require("models.mountPath"), "true"), (mount.Require("mountPath"), mount.Require("readOnly")));
        }
    }

    [SkippableFact]
    public async Task Gateways_activate_the_configured_model_set_at_start()
    {
        var rendered = await Chart.TemplateAsync("--set", "models.activate={/models/shufflenet_v2,/models/resnet50,/models/densenet201}");
        var args = Chart.Container(rendered.Gateway).Items("args").Select(a => a.ToString()).ToList();
        Assert.Equal("/models/shufflenet_v2,/models/resnet50,/models/densenet201", args[args.IndexOf("--models") + 1]);
        Assert.DoesNotContain("--models", Chart.Container(rendered.Worker).Items("args").Select(a => a.ToString()));
    }

    [SkippableFact]
    public async Task Pods_roll_when_the_shared_settings_change()
    {
        static string Checksum(JsonNode deployment) => deployment.Require("spec.template.metadata.annotations.checksum/config");
        var before = await Render("default");
        var after = await Chart.TemplateAsync("--set", "settings.worker.maxBatchSize=64");
        Assert.Equal("64", after.ConfigMap.Require("data.PARTICLEGRID__WORKER__MAXBATCHSIZE"));
        Assert.NotEqual(Checksum(before.Worker), Checksum(after.Worker));
        Assert.NotEqual(Checksum(before.Gateway), Checksum(after.Gateway));
    }
}
