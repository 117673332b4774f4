using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RealTimeInference.Deployment.Tests.Topology;

/// <summary>
/// Debian's Prometheus with a copy of docker/prometheus (prometheus.yml, rules.yml) and a target
/// file naming the three replicas, as compose's names them; every query of the Grafana dashboard
/// then returns data.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed partial class MonitoringTests(TopologyFixture fixture)
{
    // A window over which the load below is sure to have two samples at the test's 1 s scrapes.
    private const string RateInterval = "1m";

    [Fact]
    public async Task Prometheus_WithTheRepoConfig_ScrapesTheReplicas_AndEveryDashboardQueryReturnsData()
    {
        var folder = Path.Combine(fixture.Folder, "prometheus");
        Directory.CreateDirectory(Path.Combine(folder, "targets"));
        // The repo's config, scraping every second instead of every 5 s so the test waits less.
        var config = File.ReadAllText(Path.Combine(RepoPaths.Docker, "prometheus", "prometheus.yml"));
        Assert.Matches(ScrapeInterval(), config);
        File.WriteAllText(Path.Combine(folder, "prometheus.yml"), ScrapeInterval().Replace(config, "${1}1s"));
        File.Copy(Path.Combine(RepoPaths.Docker, "prometheus", "rules.yml"), Path.Combine(folder, "rules.yml"));
        File.WriteAllText(
            Path.Combine(folder, "targets", "rti-test.json"),
            JsonSerializer.Serialize(Enumerable.Range(0, TopologyFixture.ReplicaCount).Select(i => new
            {
                targets = new[] { $"127.0.0.1:{fixture.ReplicaPorts[i]}" },
                labels = new Dictionary<string, string> { ["replica"] = $"api-{i + 1}" },
            })));
        (await CommandLine.RunAsync(TimeSpan.FromSeconds(30), "promtool", "check", "config", Path.Combine(folder, "prometheus.yml"))).Succeeded("promtool check config");

        var port = TopologyFixture.FreePort();
        using var prometheus = ChildProcess.Start(
            ChildProcess.Command(
                "/usr/bin/prometheus",
                ["--config.file=" + Path.Combine(folder, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(folder, "data"), $"--web.listen-address=127.0.0.1:{port}"],
                folder),
            Path.Combine(folder, "prometheus.log"));
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        await PollAsync(api, "count(up{job=\"realtimeinference\"} == 1) == 3", prometheus, TimeSpan.FromSeconds(30));

        await GenerateAsync();

        var queries = DashboardQueries().ToList();
        Assert.True(queries.Count >= 15, $"Only {queries.Count} queries in the dashboard.");
        var deadline = Stopwatch.StartNew();
        var empty = queries;
        // Each query answers once Prometheus has scraped the load twice; poll until all do or time runs out.
        while (empty.Count > 0 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            var still = new List<string>();
            foreach (var query in empty)
            {
                if (!await HasDataAsync(api, query))
                {
                    still.Add(query);
                }
            }

            empty = still;
            if (empty.Count > 0)
            {
                await Task.Delay(500);
            }
        }

        Assert.True(empty.Count == 0, "Dashboard queries with no data:\n" + string.Join('\n', empty));
    }

    /// <summary>What the dashboard shows, for real: predictions, 503s for deadlines no queue can meet, alerts from anomalies.</summary>
    private async Task GenerateAsync()
    {
        using var client = new HttpClient { BaseAddress = fixture.Nginx };
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (var i = 0; i < 50; i++)
            {
                using var ok = await client.PostAsJsonAsync("/predict", PredictLoad.Reading);
                ok.EnsureSuccessStatusCode();
            }
        }));

        // Straight to each replica: a deadline of a microsecond passes while the request waits (a 503, counted as a drop).
        for (var i = 0; i < TopologyFixture.ReplicaCount; i++)
        {
            using var replica = new HttpClient { BaseAddress = fixture.Replica(i) };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = JsonContent.Create(PredictLoad.Reading) };
            request.Headers.Add("X-Deadline-Ms", "0.001");
            using var dropped = await replica.SendAsync(request);
            Assert.Equal(503, (int)dropped.StatusCode);

            // Alerts:FireAnomalies (3) anomalous readings of one sensor open an alert.
            for (var n = 0; n < 3; n++)
            {
                using var anomaly = await replica.PostAsJsonAsync(
                    "/predict", new { temperature = 520.0, pressure = 700.0, flow_rate = 20.0, tool_id = "etch-09", sensor_id = "monitoring" });
                anomaly.EnsureSuccessStatusCode();
                Assert.True((await anomaly.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("is_anomaly").GetBoolean(), "The reading is not an anomaly.");
            }
        }
    }

    private static IEnumerable<string> DashboardQueries()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Docker, "grafana", "dashboards", "realtimeinference.json")));
        return dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!.Replace("$__rate_interval", RateInterval, StringComparison.Ordinal))
            .ToList();
    }

    private static async Task<bool> HasDataAsync(HttpClient api, string query)
    {
        var answer = await api.GetFromJsonAsync<JsonElement>("/api/v1/query?query=" + Uri.EscapeDataString(query));
        Assert.Equal("success", answer.GetProperty("status").GetString());
        Assert.DoesNotContain("$", query, StringComparison.Ordinal);
        return answer.GetProperty("data").GetProperty("result").GetArrayLength() > 0;
    }

    private static async Task PollAsync(HttpClient api, string query, ChildProcess prometheus, TimeSpan within)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(prometheus.HasExited, "Prometheus exited:\n" + prometheus.Tail());
            Assert.True(waited.Elapsed < within, $"No data for {query} within {within}:\n{prometheus.Tail()}");
            try
            {
                if (await HasDataAsync(api, query))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }
    }


    [GeneratedRegex(@"(scrape_interval:\s*)\d+s")]
    private static partial Regex ScrapeInterval();
}
