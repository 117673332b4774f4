using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace RealTimeInference.Deployment.Tests.Topology;

[CollectionDefinition(Name)]
public sealed class TopologyCollection : ICollectionFixture<TopologyFixture>
{
    public const string Name = "Topology";
}

/// <summary>
/// The compose topology on loopback: the <c>dotnet publish</c> output started three times as
/// docker/Dockerfile's final stage starts it (its ENV and ENTRYPOINT, /app mapped to the publish
/// folder; only the listen address and the results file differ), behind Debian's nginx running
/// docker/nginx/default.conf.template rendered as the nginx image's envsubst renders it.
/// Everything it starts is stopped, and its folder deleted, after the collection.
/// </summary>
public sealed partial class TopologyFixture : IAsyncLifetime
{
    public const int ReplicaCount = 3;

    private readonly ChildProcess?[] _replicas = new ChildProcess?[ReplicaCount];
    private ChildProcess? _nginx;

    public string Folder { get; } = Directory.CreateTempSubdirectory("rti-topology-").FullName;

    public string AppDir => Path.Combine(Folder, "app");

    public int[] ReplicaPorts { get; } = [.. Enumerable.Range(0, ReplicaCount).Select(_ => FreePort())];

    public int NginxPort { get; } = FreePort();

    public Uri Nginx => new($"http://127.0.0.1:{NginxPort}");

    public Uri Replica(int index) => new($"http://127.0.0.1:{ReplicaPorts[index]}");

    internal ChildProcess ReplicaProcess(int index) => _replicas[index] ?? throw new InvalidOperationException($"Replica {index} is not running.");

    public async Task InitializeAsync()
    {
        await PublishAsync();
        await Task.WhenAll(Enumerable.Range(0, ReplicaCount).Select(StartReplicaAsync));
        await StartNginxAsync();
    }

    /// <summary>Starts replica <paramref name="index"/> (again, on its port) and waits until it is ready.</summary>
    internal async Task StartReplicaAsync(int index)
    {
        _replicas[index]?.Dispose();
        var runtime = DockerfileRuntime.Read(Path.Combine(RepoPaths.Docker, "Dockerfile"));
        var start = ChildProcess.Command(runtime.Entrypoint[0], runtime.Entrypoint.Skip(1).Select(a => runtime.MapPath(a, AppDir)), AppDir);

        // The image's environment, not this test host's ASP.NET settings.
        foreach (var inherited in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(inherited);
        }

        foreach (var (key, value) in runtime.Environment)
        {
            start.Environment[key] = runtime.MapPath(value, AppDir);
        }

        // What must differ on one machine: each replica its own loopback port and its own results file.
        Assert.True(runtime.Environment.ContainsKey("Urls") && runtime.Environment.ContainsKey("Results__Path"), "The Dockerfile no longer sets Urls and Results__Path.");
        start.Environment["Urls"] = Replica(index).ToString().TrimEnd('/');
        start.Environment["Results__Path"] = Path.Combine(Folder, $"replica-{index + 1}.db");
        var replica = _replicas[index] = ChildProcess.Start(start, Path.Combine(Folder, $"replica-{index + 1}.log"));
        await WaitUntilAsync(Replica(index), "/health/ready", replica, TimeSpan.FromSeconds(60));
    }

    private async Task PublishAsync()
    {
        (await CommandLine.RunAsync(
            TimeSpan.FromMinutes(5), "dotnet", "publish", "src/RealTimeInference.Server/RealTimeInference.Server.csproj", "-c", "Release", "-o", AppDir, "--nologo", "-v", "q"))
            .Succeeded("dotnet publish");
        // The image serves the models it bundles: the publish output must carry them.
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(AppDir, "models"), "model.onnx", SearchOption.AllDirectories));
    }

    private async Task StartNginxAsync()
    {
        var site = RenderTemplate(
            File.ReadAllText(Path.Combine(RepoPaths.Docker, "nginx", "default.conf.template")),
            new Dictionary<string, string>
            {
                ["RTI_API_1"] = $"127.0.0.1:{ReplicaPorts[0]}",
                ["RTI_API_2"] = $"127.0.0.1:{ReplicaPorts[1]}",
                ["RTI_API_3"] = $"127.0.0.1:{ReplicaPorts[2]}",
                ["RTI_NGINX_PORT"] = $"127.0.0.1:{NginxPort}",
            });
        var prefix = Path.Combine(Folder, "nginx");
        Directory.CreateDirectory(prefix);
        File.WriteAllText(Path.Combine(prefix, "default.conf"), site);
        // The nginx image's own nginx.conf in brief: the template lands inside http{}; every path in this folder.
        File.WriteAllText(Path.Combine(prefix, "nginx.conf"), $$"""
            worker_processes 1;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path {{prefix}}/client_body;
                proxy_temp_path {{prefix}}/proxy;
                fastcgi_temp_path {{prefix}}/fastcgi;
                uwsgi_temp_path {{prefix}}/uwsgi;
                scgi_temp_path {{prefix}}/scgi;
                include {{prefix}}/default.conf;
            }
            """);
        _nginx = ChildProcess.Start(
            ChildProcess.Command("/usr/sbin/nginx", ["-p", prefix, "-e", Path.Combine(prefix, "error.log"), "-c", Path.Combine(prefix, "nginx.conf"), "-g", "daemon off;"]),
            Path.Combine(prefix, "stdout.log"));
        await WaitUntilAsync(Nginx, "/health/live", _nginx, TimeSpan.FromSeconds(20));
    }

    /// <summary>As envsubst with the nginx image's filter: only the named <c>${RTI_*}</c> are replaced, nginx's own <c>$vars</c> stay.</summary>
    internal static string RenderTemplate(string template, IReadOnlyDictionary<string, string> variables)
    {
        var rendered = TemplateVariable().Replace(template, m => variables.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Value);
        var left = TemplateVariable().Match(rendered);
        Assert.False(left.Success, "The template uses a variable the tests do not set: " + left.Value);
        return rendered;
    }

    [GeneratedRegex(@"\$\{(RTI_[A-Z0-9_]+)\}")]
    private static partial Regex TemplateVariable();

    private static async Task WaitUntilAsync(Uri baseAddress, string path, ChildProcess process, TimeSpan within)
    {
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var waited = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(process.HasExited, $"{baseAddress} exited before {path} answered 200:\n{process.Tail()}");
            Assert.True(waited.Elapsed < within, $"{baseAddress}{path} did not answer 200 within {within}:\n{process.Tail()}");
            try
            {
                using var response = await client.GetAsync(path);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow to answer while it starts.
            }

            await Task.Delay(100);
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public Task DisposeAsync()
    {
        _nginx?.Dispose();
        foreach (var replica in _replicas)
        {
            replica?.Dispose();
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open; the temp folder's owner cleans it.
        }

        return Task.CompletedTask;
    }
}
