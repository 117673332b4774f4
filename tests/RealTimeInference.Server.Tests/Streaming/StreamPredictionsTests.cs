using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Transport;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Streaming;

namespace RealTimeInference.Server.Tests.Streaming;

public sealed class StreamPredictionsTests(StreamServerFixture server) : IClassFixture<StreamServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    [Fact]
    public async Task Stream_ClientPredictions_ArriveInOrderWithIncreasingIdsAndTheSameScores()
    {
        await using var stream = await EventStream.OpenAsync(_client);
        float[] temperatures = [340, 345, 350, 355, 420];
        var answers = new List<JsonElement>();
        foreach (var t in temperatures)
        {
            answers.Add(await _client.PredictAsync(t, "tool-a", "sensor-1"));
        }

        var lastId = 0L;
        for (var i = 0; i < temperatures.Length; i++)
        {
            var (id, data) = await stream.NextPredictionAsync();
            Assert.True(id > lastId, $"Event id {id} follows {lastId}.");
            lastId = id;
            var reading = data.GetProperty("reading");
            Assert.Equal(temperatures[i], reading.GetProperty("temperature").GetSingle());
            Assert.Equal(100f, reading.GetProperty("flow_rate").GetSingle());
            Assert.Equal("tool-a", reading.GetProperty("tool_id").GetString());
            Assert.Equal("sensor-1", reading.GetProperty("sensor_id").GetString());
            Assert.Equal(answers[i].GetProperty("prediction").GetSingle(), data.GetProperty("prediction").GetSingle());
            Assert.Equal(answers[i].GetProperty("is_anomaly").GetBoolean(), data.GetProperty("is_anomaly").GetBoolean());
            Assert.Equal("http", data.GetProperty("source").GetString());
            Assert.Equal("sensor-anomaly", data.GetProperty("model").GetString());
        }
    }

    [Fact]
    public async Task Stream_OnTheWire_OpensWithAHeartbeatComment_AndEveryDataLineIsAPredictionWithAnId()
    {
        using var response = await _client.GetAsync("/stream-predictions", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(": heartbeat", await reader.ReadLineAsync());
        Assert.Equal("", await reader.ReadLineAsync());
        await _client.PredictAsync(348, "tool-wire");
        var id = await reader.ReadLineAsync();
        var data = await reader.ReadLineAsync();
        Assert.Matches("^id: [0-9]+$", id);
        Assert.StartsWith("data: {\"reading\":", data, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(data!["data: ".Length..]);
        Assert.Equal("tool-wire", json.RootElement.GetProperty("reading").GetProperty("tool_id").GetString());
        Assert.Equal("", await reader.ReadLineAsync());
    }

    [Fact]
    public async Task Stream_BatchReadings_CarryEachReadingAsSent()
    {
        await using var stream = await EventStream.OpenAsync(_client, "/stream-predictions?tool_id=tool-batch");
        const string Batch = """
            [{"temperature":341,"pressure":1013,"flow_rate":100,"tool_id":"tool-batch","sensor_id":"s-1","timestamp":"2026-03-01T08:00:00+02:00"},
             {"temperature":342,"pressure":1013,"flow_rate":100,"tool_id":"tool-batch","sensor_id":"s-2","timestamp":"2026-03-01T06:00:01"}]
            """;
        using var response = await _client.PostAsync("/predict-batch", new StringContent(Batch, System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();

        var first = (await stream.NextPredictionAsync()).Data.GetProperty("reading");
        var second = (await stream.NextPredictionAsync()).Data.GetProperty("reading");
        Assert.Equal("s-1", first.GetProperty("sensor_id").GetString());
        Assert.Equal("s-2", second.GetProperty("sensor_id").GetString());
        // Each reading's own time, in the one wire format: RFC 3339 UTC.
        Assert.Equal("2026-03-01T06:00:00Z", first.GetProperty("timestamp").GetString());
        Assert.Equal("2026-03-01T06:00:01Z", second.GetProperty("timestamp").GetString());
    }

    [Fact]
    public async Task Stream_FilteredByToolSensorOrAnomalies_SendsOnlyMatchingEvents()
    {
        await using var byTool = await EventStream.OpenAsync(_client, "/stream-predictions?tool_id=tool-b");
        await using var bySensor = await EventStream.OpenAsync(_client, "/stream-predictions?tool_id=tool-c&sensor_id=sensor-2");
        await using var anomalies = await EventStream.OpenAsync(_client, "/stream-predictions?anomalies_only=true");

        await _client.PredictAsync(350, "tool-x", "sensor-1");
        await _client.PredictAsync(351, "tool-b", "sensor-1");
        await _client.PredictAsync(352, "tool-c", "sensor-1");
        await _client.PredictAsync(353, "tool-c", "sensor-2");
        await _client.PredictAsync(0, "tool-x", "sensor-9");

        var first = (await byTool.NextPredictionAsync()).Data.GetProperty("reading");
        Assert.Equal(351f, first.GetProperty("temperature").GetSingle());
        var second = (await bySensor.NextPredictionAsync()).Data.GetProperty("reading");
        Assert.Equal(353f, second.GetProperty("temperature").GetSingle());
        var anomaly = (await anomalies.NextPredictionAsync()).Data;
        Assert.True(anomaly.GetProperty("is_anomaly").GetBoolean());
        Assert.Equal(0f, anomaly.GetProperty("reading").GetProperty("temperature").GetSingle());

        // A last reading for every filter: whatever came before it was filtered out.
        await _client.PredictAsync(0, "tool-b", "sensor-5");
        await _client.PredictAsync(0, "tool-c", "sensor-2");
        Assert.Equal("sensor-5", (await byTool.NextPredictionAsync()).Data.GetProperty("reading").GetProperty("sensor_id").GetString());
        Assert.Equal(0f, (await bySensor.NextPredictionAsync()).Data.GetProperty("reading").GetProperty("temperature").GetSingle());
        Assert.Equal("tool-b", (await anomalies.NextPredictionAsync()).Data.GetProperty("reading").GetProperty("tool_id").GetString());
    }

    [Fact]
    public async Task Stream_ResumedWithLastEventId_ReplaysWhatItMissedInOrder()
    {
        long seen;
        await using (var stream = await EventStream.OpenAsync(_client, "/stream-predictions?tool_id=tool-resume"))
        {
            await _client.PredictAsync(341, "tool-resume");
            (seen, _) = await stream.NextPredictionAsync();
        }

        // Published while nobody of this filter listens.
        await _client.PredictAsync(342, "tool-resume");
        await _client.PredictAsync(343, "tool-resume");

        await using var resumed = await EventStream.OpenAsync(
            _client, "/stream-predictions?tool_id=tool-resume", seen.ToString(CultureInfo.InvariantCulture));
        var (id1, data1) = await resumed.NextPredictionAsync();
        var (id2, data2) = await resumed.NextPredictionAsync();
        Assert.True(seen < id1 && id1 < id2);
        Assert.Equal(342f, data1.GetProperty("reading").GetProperty("temperature").GetSingle());
        Assert.Equal(343f, data2.GetProperty("reading").GetProperty("temperature").GetSingle());

        await _client.PredictAsync(344, "tool-resume");
        Assert.Equal(344f, (await resumed.NextPredictionAsync()).Data.GetProperty("reading").GetProperty("temperature").GetSingle());
    }

    [Fact]
    public async Task Stream_ResumedFromAnIdOlderThanTheReplayBuffer_IsToldHowManyEventsAreGone()
    {
        var hub = server.Services.GetRequiredService<PredictionHub>();
        await using var stream = await EventStream.OpenAsync(_client);
        await _client.PredictAsync(350);
        var (first, _) = await stream.NextPredictionAsync();
        // 64 is the fixture's replay capacity.
        var model = SensorModel();
        for (var i = 0; i < 100; i++)
        {
            Publish(hub, model, 350, 0.01f);
            await stream.NextPredictionAsync();
        }

        await using var late = await EventStream.OpenAsync(_client, lastEventId: first.ToString(CultureInfo.InvariantCulture));
        var dropped = await late.NextEventAsync();
        Assert.Equal("dropped", dropped.EventType);
        using var body = JsonDocument.Parse(dropped.Data);
        Assert.Equal("replay_expired", body.RootElement.GetProperty("reason").GetString());
        Assert.Equal(100 - 64, body.RootElement.GetProperty("dropped").GetInt64());
        Assert.Equal(first + 100 - 63, (await late.NextPredictionAsync()).Id);
    }

    [Fact]
    public async Task Stream_SlowSubscriber_LosesOldestEventsCountedAndToldWhileAFastOneGetsEveryEvent()
    {
        var hub = server.Services.GetRequiredService<PredictionHub>();
        var model = SensorModel();
        await using var slow = await EventStream.OpenAsync(_client);
        await using var fast = await EventStream.OpenAsync(_client);
        using var drops = new MetricCollector<long>(
            server.Services.GetRequiredService<IMeterFactory>(), RequestMetrics.MeterName, "stream_events_dropped_total");

        // Far more than the slow reader's transport and its 16-event buffer hold while it reads nothing.
        const int Events = 5000;
        var lastId = 0L;
        for (var i = 0; i < Events; i++)
        {
            Publish(hub, model, i, 0.5f);
            var (id, data) = await fast.NextPredictionAsync();
            Assert.True(id > lastId);
            lastId = id;
            Assert.Equal(i, data.GetProperty("reading").GetProperty("temperature").GetSingle());
        }

        // The slow reader gets what its transport held, the count of what it lost (once or more: it
        // may fall behind again while it catches up), and the newest events: never the oldest lost
        // with the newest kept, and every event either received or counted as dropped.
        long dropped = 0;
        var received = new List<float>();
        while (received.Count + dropped < Events)
        {
            var item = await slow.NextEventAsync();
            using var body = JsonDocument.Parse(item.Data);
            if (item.EventType == "dropped")
            {
                Assert.Equal("slow_subscriber", body.RootElement.GetProperty("reason").GetString());
                dropped += body.RootElement.GetProperty("dropped").GetInt64();
            }
            else
            {
                received.Add(body.RootElement.GetProperty("reading").GetProperty("temperature").GetSingle());
            }
        }

        Assert.True(dropped > 0);
        Assert.Equal(Events, received.Count + dropped);
        Assert.Equal(received.Order(), received);
        Assert.Equal(Events - 1, received[^1]);
        // Every drop was counted by reason, and the count is exported to Prometheus.
        Assert.Equal(dropped, drops.GetMeasurementSnapshot()
            .Where(m => m.Tags.TryGetValue("reason", out var reason) && Equals(reason, "slow_subscriber"))
            .Sum(m => m.Value));
        var exposition = await _client.GetStringAsync("/metrics");
        Assert.Contains("rti_stream_events_dropped_total{reason=\"slow_subscriber\"}", exposition, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_WithNobodyListening_KeepsNothing()
    {
        using var quiet = new ServerFixture();
        var hub = quiet.Services.GetRequiredService<PredictionHub>();
        Assert.False(hub.IsActive);
        Assert.Equal(0, hub.SubscriberCount);
        await quiet.CreateClient().PredictAsync(350);
        Assert.False(hub.IsActive);
    }

    private static void Publish(PredictionHub hub, ServedModel model, float temperature, float score)
    {
        using var batch = new SensorBatch(1, DateTimeOffset.UtcNow);
        batch.Add(new SensorReading(null, null, batch.Received, temperature, 1013, 100));
        batch.Scores.Span[0] = score;
        hub.Publish(new ScoredBatch(new PredictionOrigin(PredictionSource.Http, "test", 0), LatencyClass.ProcessControl, model, batch, TimeSpan.Zero));
    }

    private ServedModel SensorModel()
    {
        Assert.True(server.Services.GetRequiredService<ModelRepository>().TryGet("sensor-anomaly", out var model));
        return model;
    }
}
