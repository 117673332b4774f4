using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

using RealTimeInference.Server.Tests.Results;

namespace RealTimeInference.Server.Tests.Ingestion;

/// <summary>The server subscribed to a real Mosquitto its fixture starts (and stops after).</summary>
public sealed class MqttServerFixture : ServerFixture, IAsyncLifetime
{
    public MosquittoBroker Broker { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Ingestion:Mqtt:Enabled", "true"),
        new("Ingestion:Mqtt:Host", "127.0.0.1"),
        new("Ingestion:Mqtt:Port", Broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Ingestion:Mqtt:ClientId", "rti-test-" + Guid.NewGuid().ToString("N")[..8]),
        new("Ingestion:RetryBackoff", "00:00:00.05"),
        new("Ingestion:MaxReconnectBackoff", "00:00:00.5"),
        // Readings with context: chamber "lite" of the test tools is the lite model's, every other one the full model's.
        new("Routing:Rules:0:Tool", "tool-*"),
        new("Routing:Rules:0:Chamber", "lite"),
        new("Routing:Rules:0:Model", "sensor-anomaly-lite"),
        new("Routing:Rules:1:Tool", "tool-*"),
        new("Routing:Rules:1:Model", "sensor-anomaly"),
    ];

    public Task InitializeAsync() => Broker.InitializeAsync();

    public new async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Broker.DisposeAsync();
    }
}

public sealed class MqttIngestionTests(MqttServerFixture server) : IClassFixture<MqttServerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>A gateway: publishes readings at QoS 1 and listens for predictions and errors, on a persistent session.</summary>
    private sealed class Gateway : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private readonly MqttClientOptions _options;

        private Gateway(int port) => _options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId("gateway-" + Guid.NewGuid().ToString("N")[..8])
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(3600)
            .Build();

        public ConcurrentDictionary<string, JsonElement> Predictions { get; } = new();

        public ConcurrentQueue<(string Topic, string Error)> Errors { get; } = new();

        public ConcurrentQueue<(string Topic, JsonElement Change)> Alerts { get; } = new();

        public static async Task<Gateway> ConnectAsync(int port)
        {
            var gateway = new Gateway(port);
            gateway._client.ApplicationMessageReceivedAsync += e =>
            {
                var payload = System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload);
                if (e.ApplicationMessage.Topic.EndsWith("/errors", StringComparison.Ordinal))
                {
                    gateway.Errors.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(payload)));
                }
                else if (e.ApplicationMessage.Topic.EndsWith("/alerts", StringComparison.Ordinal))
                {
                    gateway.Alerts.Enqueue((e.ApplicationMessage.Topic, JsonDocument.Parse(payload).RootElement.Clone()));
                }
                else
                {
                    var body = JsonDocument.Parse(payload).RootElement.Clone();
                    gateway.Predictions[body.GetProperty("message_id").GetString()!] = body;
                }

                return Task.CompletedTask;
            };
            await gateway.ReconnectAsync();
            await gateway._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter("fab/+/+/predictions", MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter("fab/+/+/errors", MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter("fab/+/alerts", MqttQualityOfServiceLevel.AtLeastOnce)
                .Build());
            return gateway;
        }

        public async Task ReconnectAsync()
        {
            var waited = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    await _client.ConnectAsync(_options);
                    return;
                }
                catch (MQTTnet.Exceptions.MqttCommunicationException) when (waited.Elapsed < Patience)
                {
                    await Task.Delay(50);
                }
            }
        }

        public Task PublishAsync(string topic, string messageId, string body) =>
            _client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(body)
                .WithUserProperty("message_id", Encoding.UTF8.GetBytes(messageId))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build());

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync();
            }

            _client.Dispose();
        }
    }

    private static async Task UntilAsync(Func<bool> done, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!done())
        {
            Assert.True(waited.Elapsed < Patience, $"Timed out waiting for {what}.");
            await Task.Delay(20);
        }
    }

    private (long Rows, long Messages) Stored(string tool) =>
        Counts("count(*), count(DISTINCT request_id) FROM predictions WHERE source = 'mqtt' AND tool_id = $tool", tool);

    /// <summary>The rows with context of <paramref name="tool"/>, and those of them the lite model scored in chamber "lite".</summary>
    private (long Rows, long Lite) StoredWithContext(string tool) =>
        Counts("count(*), count(*) FILTER (WHERE model = 'sensor-anomaly-lite' AND chamber_id = 'lite') FROM predictions WHERE source = 'mqtt' AND tool_id = $tool AND sensor_values IS NOT NULL", tool);

    private (long, long) Counts(string select, string tool)
    {
        SqliteConnection.ClearAllPools();
        using var connection = StoredPredictionRows.Open(server.ResultsPath);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + select;
        command.Parameters.AddWithValue("$tool", tool);
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private const string Reading = """{"temperature":350.4,"pressure":1012.8,"flow_rate":99.9}""";

    [Fact]
    public async Task Readings_OnTheReadingsTopic_ArePredictedOnThePredictionsTopic_AndStoredUnderTheTopicsTool()
    {
        _ = server.CreateClient();
        await using var gateway = await Gateway.ConnectAsync(server.Broker.Port);
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..6];

        for (var i = 0; i < 100; i++)
        {
            await gateway.PublishAsync($"fab/{tool}/chamber-1/readings", $"{tool}-{i}", i == 7 ? Reading.Replace("350.4", "420", StringComparison.Ordinal) : Reading);
        }

        await UntilAsync(() => gateway.Predictions.Keys.Count(k => k.StartsWith(tool, StringComparison.Ordinal)) == 100, "100 predictions");
        Assert.True(gateway.Predictions[$"{tool}-7"].GetProperty("is_anomaly").GetBoolean());
        Assert.False(gateway.Predictions[$"{tool}-8"].GetProperty("is_anomaly").GetBoolean());
        await UntilAsync(() => Stored(tool).Rows == 100, "100 stored rows");
        Assert.Equal((100, 100), Stored(tool));
    }

    [Fact]
    public async Task ReadingsWithContext_TakeTheTopicsToolAndChamber_AreRoutedPerReading_AndStoredOnceAcrossRedelivery()
    {
        _ = server.CreateClient();
        await using var gateway = await Gateway.ConnectAsync(server.Broker.Port);
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..6];
        const string Values = "\"values\":{\"temperature\":350.4,\"pressure\":1012.8,\"flow_rate\":99.9}";
        // Two readings take chamber ch-2 from the topic, one names chamber "lite": two models score one message.
        var body = $$"""[{{{Values}}},{"context":{"chamber_id":"lite","recipe":"etch-7"},{{Values}}},{{{Values}}}]""";

        await gateway.PublishAsync($"fab/{tool}/ch-2/readings", $"{tool}-ctx", body);
        await UntilAsync(() => gateway.Predictions.ContainsKey($"{tool}-ctx"), "the prediction");
        var answer = gateway.Predictions[$"{tool}-ctx"];
        Assert.Equal(3, answer.GetProperty("count").GetInt32());
        Assert.Equal(
            ["sensor-anomaly", "sensor-anomaly-lite", "sensor-anomaly"],
            answer.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("model").GetString()));
        await UntilAsync(() => StoredWithContext(tool).Rows == 3, "3 stored rows");
        Assert.Equal((3, 1), StoredWithContext(tool));

        // Delivered again (the same message id): answered again, each model's rows kept once.
        gateway.Predictions.TryRemove($"{tool}-ctx", out _);
        await gateway.PublishAsync($"fab/{tool}/ch-2/readings", $"{tool}-ctx", body);
        await gateway.PublishAsync($"fab/{tool}/ch-2/readings", $"{tool}-after", $$"""{{{Values}}}""");
        await UntilAsync(() => gateway.Predictions.ContainsKey($"{tool}-ctx") && StoredWithContext(tool).Rows == 4, "the second answer and the next message's row");
        Assert.Equal((4, 1), StoredWithContext(tool));
    }

    [Fact]
    public async Task ReadingsWithContext_ThatNoRuleRoutes_OrMissASensor_AreAnsweredOnTheErrorsTopic()
    {
        _ = server.CreateClient();
        await using var gateway = await Gateway.ConnectAsync(server.Broker.Port);
        var unrouted = "other-" + Guid.NewGuid().ToString("N")[..6];
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..6];

        await gateway.PublishAsync($"fab/{unrouted}/ch-1/readings", "unrouted", """{"values":{"temperature":350,"pressure":1013,"flow_rate":100}}""");
        await gateway.PublishAsync($"fab/{tool}/ch-1/readings", "short", """{"values":{"temperature":350,"pressure":1013}}""");

        await UntilAsync(() => gateway.Errors.Count(e => e.Topic.Contains(unrouted, StringComparison.Ordinal) || e.Topic.Contains(tool, StringComparison.Ordinal)) == 2, "2 errors");
        Assert.Contains(gateway.Errors, e => e.Topic == $"fab/{unrouted}/ch-1/errors" && e.Error.Contains($"tool_id={unrouted}, chamber_id=ch-1", StringComparison.Ordinal));
        Assert.Contains(gateway.Errors, e => e.Topic == $"fab/{tool}/ch-1/errors" && e.Error.StartsWith("values.flow_rate:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnomaliesFromMqtt_OpenAnAlert_PublishedOnTheToolsAlertsTopic()
    {
        _ = server.CreateClient();
        await using var gateway = await Gateway.ConnectAsync(server.Broker.Port);
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..6];

        for (var i = 0; i < 3; i++)
        {
            await gateway.PublishAsync($"fab/{tool}/chamber-1/readings", $"{tool}-spike-{i}", Reading.Replace("350.4", "420", StringComparison.Ordinal));
        }

        await UntilAsync(() => gateway.Alerts.Any(a => a.Topic == $"fab/{tool}/alerts"), "an alert on the tool's topic");
        var change = gateway.Alerts.First(a => a.Topic == $"fab/{tool}/alerts").Change;
        Assert.Equal("fired", change.GetProperty("event").GetString());
        Assert.Equal(tool, change.GetProperty("alert").GetProperty("tool_id").GetString());
    }

    [Fact]
    public async Task PoisonMessages_AreAnsweredOnTheErrorsTopic_AndTheConsumerKeepsConsuming()
    {
        _ = server.CreateClient();
        await using var gateway = await Gateway.ConnectAsync(server.Broker.Port);
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..6];

        await gateway.PublishAsync($"fab/{tool}/s/readings", "bad-json", "{\"temperature\":");
        await gateway.PublishAsync($"fab/{tool}/s/readings", "bad-type", """{"temperature":"hot","pressure":1013,"flow_rate":100}""");
        await gateway.PublishAsync($"fab/{tool}/s/readings", "fine", Reading);

        await UntilAsync(() => gateway.Errors.Count(e => e.Topic.Contains(tool, StringComparison.Ordinal)) == 2 && gateway.Predictions.ContainsKey("fine"), "2 errors and a prediction");
        Assert.Contains(gateway.Errors, e => e.Topic == $"fab/{tool}/s/errors" && e.Error.StartsWith("temperature:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BrokerRestart_WhileReadingsArePublished_LosesNone()
    {
        _ = server.CreateClient();
        await using var gateway = await Gateway.ConnectAsync(server.Broker.Port);
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..6];

        for (var i = 0; i < 300; i++)
        {
            await gateway.PublishAsync($"fab/{tool}/chamber-1/readings", $"{tool}-{i}", Reading);
        }

        await server.Broker.StopAsync();
        await server.Broker.StartAsync();
        await gateway.ReconnectAsync();
        for (var i = 300; i < 600; i++)
        {
            await gateway.PublishAsync($"fab/{tool}/chamber-1/readings", $"{tool}-{i}", Reading);
        }

        // Every reading the broker acknowledged is scored and stored once, whatever the restart cut.
        await UntilAsync(() => Stored(tool).Messages == 600, "600 stored messages");
        Assert.Equal((600, 600), Stored(tool));
    }
}
