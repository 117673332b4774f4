using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Alerts;

/// <summary>Alerts reach a real Alertmanager with their labels, and leave it when they resolve.</summary>
public sealed class AlertmanagerTests(AlertmanagerServerFixture server) : IClassFixture<AlertmanagerServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private async Task PredictAsync(string tool, double temperature, int count)
    {
        var readings = Enumerable.Range(0, count).Select(_ => new { tool_id = tool, sensor_id = "chamber-temp", temperature, pressure = 1013.0, flow_rate = 100.0 });
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsJsonAsync("/predict-batch", readings.ToArray())).StatusCode);
    }

    /// <summary>Alertmanager's alerts for <paramref name="tool"/>, asked again until <paramref name="done"/> holds (it is another process: there is no signal to await).</summary>
    private async Task<JsonElement[]> AlertmanagerAlertsAsync(string tool, Func<JsonElement[], bool> done)
    {
        using var alertmanager = new HttpClient { BaseAddress = server.AlertmanagerUrl };
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var alerts = (await alertmanager.GetFromJsonAsync<JsonElement[]>($"api/v2/alerts?filter=tool_id%3D%22{tool}%22"))!;
            if (done(alerts) || waited.Elapsed > TimeSpan.FromSeconds(15))
            {
                return alerts;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task AFiringAlert_ReachesAlertmanagerWithItsLabels_AndLeavesItWhenResolved()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        await PredictAsync(tool, 420, 3);

        var firing = await AlertmanagerAlertsAsync(tool, a => a.Length > 0);
        var alert = Assert.Single(firing);
        var labels = alert.GetProperty("labels");
        Assert.Equal("SensorAnomaly", labels.GetProperty("alertname").GetString());
        Assert.Equal("chamber-temp", labels.GetProperty("sensor_id").GetString());
        Assert.Equal("sensor-anomaly", labels.GetProperty("model").GetString());
        Assert.Equal("critical", labels.GetProperty("severity").GetString());
        Assert.Contains(tool, alert.GetProperty("annotations").GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("http://rti.test:8000/alerts/", alert.GetProperty("generatorURL").GetString(), StringComparison.Ordinal);

        await PredictAsync(tool, 350, 10);

        Assert.Empty(await AlertmanagerAlertsAsync(tool, a => a.Length == 0));
    }
}
