using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace RealTimeInference.Deployment.Tests;

/// <summary>
/// The files in docker/ as their own tools read them: docker-compose accepts the stack, kustomize
/// renders the Kubernetes objects, and every built-in object loads into the Kubernetes client's
/// typed models with unknown fields refused, so a misspelt or misplaced field fails here.
/// </summary>
public sealed partial class ManifestTests
{
    private static readonly string[] ComposeServices =
        ["api-1", "api-2", "api-3", "nginx", "prometheus", "alertmanager", "grafana", "postgres", "rabbitmq", "mosquitto"];

    [Fact]
    public async Task Compose_IsAcceptedByDockerCompose_WithTheWholeStack()
    {
        var compose = Path.Combine(RepoPaths.Docker, "compose.yaml");
        (await CommandLine.RunAsync("docker-compose", "-f", compose, "config", "-q")).Succeeded("docker-compose config -q");

        var config = Yaml((await CommandLine.RunAsync("docker-compose", "-f", compose, "config")).Succeeded("docker-compose config"));
        var services = Map(config, "services");

        Assert.Equal(ComposeServices.Order(StringComparer.Ordinal), services.Children.Keys.Select(Text).Order(StringComparer.Ordinal));
        var clientIds = ComposeServices.Where(name => name.StartsWith("api-", StringComparison.Ordinal))
            .Select(name => Text(Map(Map(services, name), "environment")["Ingestion__Mqtt__ClientId"]))
            .ToList();
        Assert.Equal(3, clientIds.Distinct(StringComparer.Ordinal).Count());
        // Alerts cannot share a database yet: each replica has its own, which postgres/init.sql creates.
        var databases = ComposeServices.Where(name => name.StartsWith("api-", StringComparison.Ordinal))
            .Select(name => Text(Map(Map(services, name), "environment")["Results__ConnectionString"]).Split(';').Single(p => p.StartsWith("Database=", StringComparison.Ordinal))[9..])
            .ToList();
        Assert.Equal(3, databases.Distinct(StringComparer.Ordinal).Count());
        var init = File.ReadAllText(Path.Combine(RepoPaths.Docker, "postgres", "init.sql"));
        Assert.All(databases, database => Assert.Contains($"CREATE DATABASE {database};", init, StringComparison.Ordinal));
        Assert.Equal("realtimeinference:latest", Text(Map(services, "api-2")["image"]));
        Assert.Equal("30s", Text(Map(services, "api-3")["stop_grace_period"]));
    }

    [Fact]
    public void PrometheusTargets_NameTheComposeReplicasAndAlertmanager()
    {
        var folder = Path.Combine(RepoPaths.Docker, "prometheus", "targets");

        Assert.Equal(["api-1:8000", "api-2:8000", "api-3:8000"], Targets(Path.Combine(folder, "rti-compose.json")));
        Assert.Equal(["alertmanager:9093"], Targets(Path.Combine(folder, "alertmanager-compose.json")));
    }

    [Fact]
    public async Task AlertmanagerConfig_IsAcceptedByAmtool()
    {
        var output = (await CommandLine.RunAsync("amtool", "check-config", Path.Combine(RepoPaths.Docker, "alertmanager", "alertmanager.yml")))
            .Succeeded("amtool check-config");

        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MosquittoConfig_StartsDebiansMosquitto()
    {
        // The file as compose mounts it, but on a free loopback port and a folder of this machine.
        var folder = Directory.CreateTempSubdirectory("rti-mosquitto-");
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var config = File.ReadAllText(Path.Combine(RepoPaths.Docker, "mosquitto", "mosquitto.conf"))
                .Replace("listener 1883", $"listener {port} 127.0.0.1", StringComparison.Ordinal)
                .Replace("persistence_location /mosquitto/data/", $"persistence_location {folder.FullName}/", StringComparison.Ordinal);
            Assert.Contains($"listener {port} 127.0.0.1", config, StringComparison.Ordinal);
            Assert.Contains("max_queued_messages 0", config, StringComparison.Ordinal);
            var file = Path.Combine(folder.FullName, "mosquitto.conf");
            File.WriteAllText(file, config);

            var log = await CommandLine.RunUntilAsync("mosquitto", line => line.Contains(" running", StringComparison.Ordinal), "-c", file);

            Assert.Contains("Config loaded", log, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Kustomize_RendersTheBase_AndEveryObjectLoadsStrictly()
    {
        var objects = KubernetesYaml.LoadAllFromString(await KustomizeAsync("docker/k8s"), typeMap: null, strict: true);

        Assert.Equal(
            ["ConfigMap", "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Secret", "Service"],
            objects.Select(o => ((IKubernetesObject)o).Kind).Order(StringComparer.Ordinal));

        var deployment = Assert.Single(objects.OfType<V1Deployment>());
        Assert.Equal(3, deployment.Spec.Replicas);
        var pod = deployment.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        Assert.Equal("realtimeinference:latest", container.Image);
        var port = Assert.Single(container.Ports);
        Assert.Equal((8000, "http"), (port.ContainerPort, port.Name));
        Assert.Equal("/health/live", container.LivenessProbe.HttpGet.Path);
        Assert.Equal("/health/ready", container.ReadinessProbe.HttpGet.Path);
        Assert.Equal("/health/live", container.StartupProbe.HttpGet.Path);
        Assert.Equal("500m", container.Resources.Requests["cpu"].ToString());
        Assert.Equal("1Gi", container.Resources.Limits["memory"].ToString());
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal(1654, pod.SecurityContext.RunAsUser);

        // SIGTERM comes after preStop; the server's drain (up to 30 s) must fit in what is left.
        var preStop = container.Lifecycle.PreStop.Sleep.Seconds;
        Assert.True(pod.TerminationGracePeriodSeconds >= preStop + 30, $"grace {pod.TerminationGracePeriodSeconds} s, preStop {preStop} s");

        // kustomize suffixes the generated Secret's name: the Deployment must name what was rendered.
        var configMaps = objects.OfType<V1ConfigMap>().Select(c => c.Metadata.Name).ToList();
        var secret = Assert.Single(objects.OfType<V1Secret>()).Metadata.Name;
        Assert.Contains(container.EnvFrom, e => e.ConfigMapRef is { } c && configMaps.Contains(c.Name));
        Assert.Contains(container.EnvFrom, e => e.SecretRef?.Name == secret);

        var service = Assert.Single(objects.OfType<V1Service>());
        Assert.Subset(deployment.Spec.Template.Metadata.Labels.ToHashSet(), service.Spec.Selector.ToHashSet());
        Assert.Equal("http", Assert.Single(service.Spec.Ports).TargetPort.Value);

        var budget = Assert.Single(objects.OfType<V1PodDisruptionBudget>());
        Assert.Equal("2", budget.Spec.MinAvailable.Value);
        Assert.Subset(deployment.Spec.Template.Metadata.Labels.ToHashSet(), budget.Spec.Selector.MatchLabels.ToHashSet());
    }

    [Fact]
    public async Task Hpa_ScalesOnCpuAndOnTheQueueDepthThePrometheusAdapterExposes()
    {
        var objects = KubernetesYaml.LoadAllFromString(await KustomizeAsync("docker/k8s"), typeMap: null, strict: true);
        var hpa = Assert.Single(objects.OfType<V2HorizontalPodAutoscaler>());
        var deployment = Assert.Single(objects.OfType<V1Deployment>());

        Assert.Equal(("Deployment", deployment.Metadata.Name), (hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name));
        Assert.Equal((3, 10), (hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas));
        var cpu = Assert.Single(hpa.Spec.Metrics, m => m.Type == "Resource");
        Assert.Equal(("cpu", "Utilization", 70), (cpu.Resource.Name, cpu.Resource.Target.Type, cpu.Resource.Target.AverageUtilization));
        var queue = Assert.Single(hpa.Spec.Metrics, m => m.Type == "Pods");
        Assert.Equal(("rti_inference_queued_rows", "AverageValue"), (queue.Pods.Metric.Name, queue.Pods.Target.Type));
        Assert.True(hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds > 0);

        // The HPA can only read what the adapter publishes under that name.
        var adapter = Assert.Single(objects.OfType<V1ConfigMap>(), c => c.Data.ContainsKey("config.yaml"));
        var rule = Assert.Single(Sequence(Yaml(adapter.Data["config.yaml"]), "rules").Children.Cast<YamlMappingNode>());
        Assert.Contains("rti_inference_queued_rows", Text(rule["seriesQuery"]), StringComparison.Ordinal);
        Assert.Equal(queue.Pods.Metric.Name, Text(Map(rule, "name")["as"]));
        Assert.Equal("pod", Text(Map(Map(Map(rule, "resources"), "overrides"), "pod")["resource"]));
    }

    [Fact]
    public void StrictLoading_RefusesAnUnknownField()
    {
        const string Misplaced = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: probe
            spec:
              replicas: 3
            """;

        Assert.Single(KubernetesYaml.LoadAllFromString(Misplaced, typeMap: null, strict: false));
        Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => KubernetesYaml.LoadAllFromString(Misplaced, typeMap: null, strict: true));
    }

    [Fact]
    public async Task KedaOverlay_ScalesOnTheRabbitMqQueue_AndDropsTheBaseHpa()
    {
        var documents = Documents(await KustomizeAsync("docker/k8s/keda"));
        var kinds = documents.Select(d => Text(d.Root["kind"])).ToList();

        Assert.DoesNotContain("HorizontalPodAutoscaler", kinds);
        Assert.Contains("Deployment", kinds);

        var scaledObject = Assert.Single(documents, d => Text(d.Root["kind"]) == "ScaledObject").Root;
        Assert.Equal("keda.sh/v1alpha1", Text(scaledObject["apiVersion"]));
        var spec = Map(scaledObject, "spec");
        Assert.Equal("realtimeinference", Text(Map(spec, "scaleTargetRef")["name"]));
        var rabbit = Assert.Single(Sequence(spec, "triggers").Children.Cast<YamlMappingNode>(), t => Text(t["type"]) == "rabbitmq");
        var metadata = Map(rabbit, "metadata");
        Assert.Equal(("rti.readings", "QueueLength"), (Text(metadata["queueName"]), Text(metadata["mode"])));

        // The trigger's credentials name the Secret kustomize rendered (with its hash suffix).
        var authentication = Assert.Single(documents, d => Text(d.Root["kind"]) == "TriggerAuthentication").Root;
        Assert.Equal(Text(Map(rabbit, "authenticationRef")["name"]), Text(Map(authentication, "metadata")["name"]));
        var secretName = Text(Map(Assert.Single(documents, d => Text(d.Root["kind"]) == "Secret").Root, "metadata")["name"]);
        var secretRef = Assert.Single(Sequence(Map(authentication, "spec"), "secretTargetRef").Children.Cast<YamlMappingNode>());
        Assert.Equal(secretName, Text(secretRef["name"]));

        // The built-in kinds of the overlay still load strictly into the typed models.
        foreach (var document in documents.Where(d => !Text(d.Root["apiVersion"]).StartsWith("keda.sh/", StringComparison.Ordinal)))
        {
            Assert.Single(KubernetesYaml.LoadAllFromString(document.Source, typeMap: null, strict: true));
        }
    }

    [Fact]
    public void Dockerfile_FinalStage_RunsTheServerAsNonRootOnPort8000WithALivenessCheck()
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.Docker, "Dockerfile"));
        var final = text[text.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];
        var lines = final.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n').Select(l => l.Trim()).ToList();

        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/RealTimeInference.Server.dll\"]", lines);
        Assert.Contains("EXPOSE 8000", lines);
        var user = Assert.Single(lines, l => l.StartsWith("USER ", StringComparison.Ordinal))["USER ".Length..];
        Assert.DoesNotContain(user, new[] { "root", "0", "0:0" });
        var healthCheck = Assert.Single(lines, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        Assert.Contains("/health/live", healthCheck, StringComparison.Ordinal);
        Assert.Contains("/app/RealTimeInference.Server.dll\", \"--health-check\"", healthCheck, StringComparison.Ordinal);
    }

    private static async Task<string> KustomizeAsync(string folder) =>
        (await CommandLine.RunAsync("kubectl", "kustomize", folder)).Succeeded($"kubectl kustomize {folder}");

    private static List<(YamlMappingNode Root, string Source)> Documents(string yaml) =>
        [.. DocumentSeparator().Split(yaml).Where(d => !string.IsNullOrWhiteSpace(d)).Select(d => (Yaml(d), d))];

    private static YamlMappingNode Yaml(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private static string[] Targets(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(file)));
        var group = (YamlMappingNode)Assert.Single(((YamlSequenceNode)Assert.Single(stream.Documents).RootNode).Children);
        return [.. ((YamlSequenceNode)group["targets"]).Children.Select(Text)];
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) => Assert.IsType<YamlMappingNode>(node[key]);

    private static YamlSequenceNode Sequence(YamlMappingNode node, string key) => Assert.IsType<YamlSequenceNode>(node[key]);

    private static string Text(YamlNode node) => Assert.IsType<YamlScalarNode>(node).Value ?? "";

    [GeneratedRegex("^---$", RegexOptions.Multiline)]
    private static partial Regex DocumentSeparator();
}
