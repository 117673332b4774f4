using System.Diagnostics;
using System.Net;
using System.Text;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Server.Tests.Sockets;
using RealTimeInference.Server.Tests.Streaming;
using RealTimeInference.Server.Tests.Wafers;

namespace RealTimeInference.Server.Tests.Observability;

/// <summary>
/// Prometheus's own linter on a real scrape: every project series (<c>rti_</c>) must pass
/// <c>promtool check metrics</c> (Debian's <c>prometheus</c> package; build/test.sh installs it).
/// Framework series (the runtime's) are Microsoft's to name and are not judged here.
/// </summary>
public sealed class PromtoolTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Reading = """{"temperature":350,"pressure":1013,"flow_rate":100}""";

    private readonly HttpClient _client = server.CreateClient();

    [Fact]
    public async Task Scrape_AfterTrafficOnEveryEndpoint_HasNoFindingAboutTheProjectsSeries()
    {
        await DriveEveryEndpointAsync();
        var scrape = await _client.GetStringAsync("/metrics");
        Assert.Contains("\nrti_prediction_duration_seconds_bucket{", scrape, StringComparison.Ordinal);

        var findings = await PromtoolAsync(scrape);

        var ours = findings.Where(f => f.StartsWith("rti_", StringComparison.Ordinal)).ToArray();
        Assert.True(ours.Length == 0, "promtool findings on the project's series:\n" + string.Join("\n", ours));
        // Counters and gauges are exported as what they are, not as each other.
        Assert.Contains("# TYPE rti_inference_requests_total counter", scrape, StringComparison.Ordinal);
        Assert.Contains("# TYPE rti_inference_rows_total counter", scrape, StringComparison.Ordinal);
        Assert.Contains("# TYPE rti_inference_queued_rows gauge", scrape, StringComparison.Ordinal);
        Assert.Contains("# TYPE rti_prediction_duration_seconds histogram", scrape, StringComparison.Ordinal);
        Assert.DoesNotContain("Counter`1", scrape, StringComparison.Ordinal);
    }

    private async Task DriveEveryEndpointAsync()
    {
        foreach (var path in new[] { "/predict", "/baseline/predict" })
        {
            (await Post(path, Reading)).EnsureSuccessStatusCode();
            Assert.Equal(HttpStatusCode.BadRequest, (await Post(path, """{"temperature":"hot"}""")).StatusCode);
        }

        foreach (var path in new[] { "/predict-batch", "/baseline/predict-batch" })
        {
            (await Post(path, $"[{Reading},{Reading}]")).EnsureSuccessStatusCode();
        }

        var png = WaferImages.Png(WaferPattern.Donut);
        (await _client.PostAsync("/predict-wafer", WaferEndpointTests.Image(png))).EnsureSuccessStatusCode();
        using var form = new MultipartFormDataContent { { WaferEndpointTests.Image(png), "files", "donut.png" } };
        (await _client.PostAsync("/predict-wafer", form)).EnsureSuccessStatusCode();

        await using (var stream = await EventStream.OpenAsync(_client))
        {
            (await Post("/predict", Reading)).EnsureSuccessStatusCode();
            await stream.NextPredictionAsync();
        }

        using (var socket = await server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, "ws/predict"), CancellationToken.None))
        {
            await socket.SendTextAsync(Reading);
            await socket.ReceiveJsonAsync();
            await socket.SendTextAsync("{}");
            await socket.ReceiveJsonAsync();
        }

        using (var webcam = await server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, "ws/webcam"), CancellationToken.None))
        {
            await webcam.SendTextAsync(System.Text.Json.JsonSerializer.Serialize(new { frame = Convert.ToBase64String(png) }));
            await webcam.ReceiveJsonAsync();
        }

        foreach (var path in new[] { "/models", "/models/sensor-anomaly", "/health/live", "/health/ready", "/no-such-route" })
        {
            await _client.GetAsync(path);
        }

        (await _client.PostAsync("/models/sensor-anomaly/reload", null)).EnsureSuccessStatusCode();
        using var json = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        json.Headers.Accept.Add(new("application/json"));
        (await _client.SendAsync(json)).EnsureSuccessStatusCode();
    }

    private Task<HttpResponseMessage> Post(string path, string body) =>
        _client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>promtool's findings, one a line, each starting with the metric it is about.</summary>
    private static async Task<string[]> PromtoolAsync(string scrape)
    {
        var start = new ProcessStartInfo("promtool", "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"promtool is not installed ({ex.Message}): run ./build/test.sh, which installs Debian's prometheus package.");
            throw;
        }

        using (process)
        {
            await process.StandardInput.WriteAsync(scrape);
            process.StandardInput.Close();
            var output = await process.StandardOutput.ReadToEndAsync();
            var errors = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            // Findings go to stderr; a scrape it cannot even parse is a finding about all of it.
            Assert.DoesNotContain("error while linting", errors, StringComparison.Ordinal);
            return (output + errors).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
    }
}
