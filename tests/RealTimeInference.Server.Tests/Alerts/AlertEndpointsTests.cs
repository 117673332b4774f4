using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Alerts;

/// <summary>An anomaly episode opens one alert, which an operator can see and acknowledge.</summary>
public sealed class AlertEndpointsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private async Task<long> EpisodeAsync(string tool)
    {
        // Five anomalous readings of one sensor (3 of the last 5 open an alert), in two requests.
        foreach (var count in new[] { 2, 3 })
        {
            var readings = Enumerable.Range(0, count).Select(_ => new { tool_id = tool, sensor_id = "chamber-temp", temperature = 420.0, pressure = 1013.0, flow_rate = 100.0 });
            Assert.Equal(HttpStatusCode.OK, (await _client.PostAsJsonAsync("/predict-batch", readings.ToArray())).StatusCode);
        }

        var alerts = await _client.GetFromJsonAsync<JsonElement>($"/alerts?tool_id={tool}");
        return Assert.Single(alerts.GetProperty("items").EnumerateArray()).GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task AnAnomalyEpisode_OpensOneAlert_ThatCanBeAcknowledgedOnce()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        var id = await EpisodeAsync(tool);

        var alert = await _client.GetFromJsonAsync<JsonElement>($"/alerts/{id}");
        Assert.Equal("firing", alert.GetProperty("state").GetString());
        Assert.Equal("chamber-temp", alert.GetProperty("sensor_id").GetString());
        Assert.Equal("sensor-anomaly", alert.GetProperty("model").GetString());
        Assert.Equal("critical", alert.GetProperty("severity").GetString());
        Assert.Equal("fired", Assert.Single(alert.GetProperty("timeline").EnumerateArray()).GetProperty("kind").GetString());

        var ack = await _client.PostAsJsonAsync($"/alerts/{id}/ack", new { by = "operator-7", note = "chamber vented" });
        var again = await _client.PostAsJsonAsync($"/alerts/{id}/ack", new { by = "operator-8" });

        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        var acknowledged = await ack.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("acknowledged", acknowledged.GetProperty("state").GetString());
        Assert.Equal("operator-7", acknowledged.GetProperty("timeline")[1].GetProperty("by").GetString());
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var firing = await _client.GetFromJsonAsync<JsonElement>($"/alerts?state=firing&tool_id={tool}");
        Assert.Empty(firing.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Shelve_SilencesTheGroupForAWhile_Audited_AndNamesEveryBadField()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        var id = await EpisodeAsync(tool);

        var bad = await _client.PostAsJsonAsync($"/alerts/{id}/shelve", new { minutes = 0, by = "operator-7" });
        var shelved = await _client.PostAsJsonAsync($"/alerts/{id}/shelve", new { minutes = 60, by = "operator-7", reason = "PM in progress" });
        var unknown = await _client.PostAsJsonAsync("/alerts/999999/shelve", new { minutes = 60, by = "operator-7", reason = "x" });

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("minutes", out _) && errors.TryGetProperty("reason", out _), errors.ToString());
        Assert.Equal(HttpStatusCode.OK, shelved.StatusCode);
        var alert = await shelved.Content.ReadFromJsonAsync<JsonElement>();
        Assert.NotEqual(JsonValueKind.Null, alert.GetProperty("shelved_until").ValueKind);
        var step = alert.GetProperty("timeline").EnumerateArray().Last();
        Assert.Equal(("shelved", "operator-7", "PM in progress"), (step.GetProperty("kind").GetString(), step.GetProperty("by").GetString(), step.GetProperty("note").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task AToolInMaintenance_OpensNoAlert_AndSaysSo()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        var set = await _client.PutAsJsonAsync($"/tools/{tool}/state", new { state = "maintenance", by = "tech-3", note = "wet clean" });
        var bad = await _client.PutAsJsonAsync($"/tools/{tool}/state", new { state = "asleep", by = "tech-3" });

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var readings = Enumerable.Range(0, 5).Select(_ => new { tool_id = tool, sensor_id = "chamber-temp", temperature = 420.0, pressure = 1013.0, flow_rate = 100.0 });
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsJsonAsync("/predict-batch", readings.ToArray())).StatusCode);
        Assert.Empty((await _client.GetFromJsonAsync<JsonElement>($"/alerts?tool_id={tool}")).GetProperty("items").EnumerateArray());

        var state = await _client.GetFromJsonAsync<JsonElement>($"/tools/{tool}/state");
        Assert.Equal(("maintenance", "tech-3", "wet clean"), (state.GetProperty("state").GetString(), state.GetProperty("by").GetString(), state.GetProperty("note").GetString()));

        Assert.Equal(HttpStatusCode.OK, (await _client.PutAsJsonAsync($"/tools/{tool}/state", new { state = "productive", by = "tech-3" })).StatusCode);
        await EpisodeAsync(tool);
    }

    [Fact]
    public async Task NormalReadings_OpenNoAlert()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        var readings = Enumerable.Range(0, 20).Select(_ => new { tool_id = tool, sensor_id = "s", temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 });
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsJsonAsync("/predict-batch", readings.ToArray())).StatusCode);

        var alerts = await _client.GetFromJsonAsync<JsonElement>($"/alerts?tool_id={tool}");

        Assert.Empty(alerts.GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("{}", "by")]
    [InlineData("{\"by\": \"  \"}", "by")]
    [InlineData("not json", "$")]
    public async Task Ack_WithABadBody_Returns400NamingTheField(string body, string field)
    {
        var id = await EpisodeAsync("tool-" + Guid.NewGuid().ToString("N")[..8]);

        var response = await _client.PostAsync($"/alerts/{id}/ack", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task UnknownAlertOrState_Are404And400()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/alerts/999999999")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PostAsJsonAsync("/alerts/999999999/ack", new { by = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync("/alerts?state=open")).StatusCode);
    }
}

/// <summary><c>/stream-alerts</c>: every change as it happens, and again after a reconnect with Last-Event-ID.</summary>
public sealed class AlertStreamTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private static async Task<(long Id, JsonElement Data)> NextAlertAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                Assert.Equal("event: alert", await reader.ReadLineAsync());
                var data = await reader.ReadLineAsync();
                Assert.StartsWith("data: ", data, StringComparison.Ordinal);
                Assert.Equal("", await reader.ReadLineAsync());
                return (long.Parse(line["id: ".Length..], System.Globalization.CultureInfo.InvariantCulture), JsonDocument.Parse(data!["data: ".Length..]).RootElement.Clone());
            }
        }

        throw new InvalidOperationException("The stream ended.");
    }

    [Fact]
    public async Task Changes_ArriveLive_AndAgainAfterLastEventId()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        using var response = await _client.GetAsync($"/stream-alerts?tool_id={tool}", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(": heartbeat", await reader.ReadLineAsync());

        var readings = Enumerable.Range(0, 3).Select(_ => new { tool_id = tool, sensor_id = "s", temperature = 420.0, pressure = 1013.0, flow_rate = 100.0 });
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsJsonAsync("/predict-batch", readings.ToArray())).StatusCode);
        var (firedId, fired) = await NextAlertAsync(reader);
        var alertId = fired.GetProperty("alert").GetProperty("id").GetInt64();
        Assert.Equal(("fired", "firing", tool), (fired.GetProperty("event").GetString(), fired.GetProperty("alert").GetProperty("state").GetString(), fired.GetProperty("alert").GetProperty("tool_id").GetString()));
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsJsonAsync($"/alerts/{alertId}/ack", new { by = "operator-7" })).StatusCode);
        var (ackId, acknowledged) = await NextAlertAsync(reader);
        Assert.Equal("acknowledged", acknowledged.GetProperty("event").GetString());
        Assert.True(ackId > firedId);

        using var resume = new HttpRequestMessage(HttpMethod.Get, $"/stream-alerts?tool_id={tool}");
        resume.Headers.Add("Last-Event-ID", firedId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var resumed = await _client.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead);
        using var again = new StreamReader(await resumed.Content.ReadAsStreamAsync());
        Assert.Equal((ackId, "acknowledged"), (await NextAlertAsync(again)) is var (id, data) ? (id, data.GetProperty("event").GetString()) : default);
    }
}
