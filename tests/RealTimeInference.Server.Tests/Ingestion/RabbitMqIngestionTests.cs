using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RealTimeInference.Server.Ingestion;

using RealTimeInference.Server.Tests.Results;

namespace RealTimeInference.Server.Tests.Ingestion;

/// <summary>The server consuming from a real RabbitMQ its fixture starts (and stops after).</summary>
public sealed class RabbitMqServerFixture : ServerFixture, IAsyncLifetime
{
    public RabbitMqBroker Broker { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Ingestion:RabbitMq:Enabled", "true"),
        new("Ingestion:RabbitMq:Uri", Broker.Uri.ToString()),
        new("Ingestion:RetryBackoff", "00:00:00.05"),
        new("Ingestion:MaxReconnectBackoff", "00:00:01"),
    ];

    public Task InitializeAsync() => Broker.InitializeAsync();

    public new async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Broker.DisposeAsync();
    }
}

public sealed class RabbitMqIngestionTests(RabbitMqServerFixture server) : IClassFixture<RabbitMqServerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>A test client: publishes readings with confirms, and collects results and dead letters.</summary>
    private sealed class Client : IAsyncDisposable
    {
        private IConnection _connection = null!;
        private IChannel _publisher = null!;
        private IChannel _listener = null!;

        public ConcurrentDictionary<string, JsonElement> Results { get; } = new();

        public ConcurrentQueue<(string? MessageId, string Error)> DeadLetters { get; } = new();

        public static async Task<Client> ConnectAsync(Uri uri)
        {
            var client = new Client();
            client._connection = await new ConnectionFactory { Uri = uri }.CreateConnectionAsync();
            client._publisher = await client._connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
            client._listener = await client._connection.CreateChannelAsync();
            // The server declares its topology when it connects; wait for it, then listen.
            var waited = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    await using var probe = await client._connection.CreateChannelAsync();
                    await probe.ExchangeDeclarePassiveAsync(RabbitMqIngestion.ResultsExchange);
                    await probe.QueueDeclarePassiveAsync("rti.readings");
                    break;
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException) when (waited.Elapsed < Patience)
                {
                    await Task.Delay(50);
                }
            }

            var results = (await client._listener.QueueDeclareAsync()).QueueName;
            await client._listener.QueueBindAsync(results, RabbitMqIngestion.ResultsExchange, "#");
            var consumer = new AsyncEventingBasicConsumer(client._listener);
            consumer.ReceivedAsync += (_, e) =>
            {
                var body = JsonDocument.Parse(e.Body).RootElement.Clone();
                client.Results[body.GetProperty("message_id").GetString()!] = body;
                return Task.CompletedTask;
            };
            await client._listener.BasicConsumeAsync(results, autoAck: true, consumer);
            var dead = new AsyncEventingBasicConsumer(client._listener);
            dead.ReceivedAsync += (_, e) =>
            {
                var error = e.BasicProperties.Headers?[RabbitMqIngestion.ErrorHeader] is byte[] bytes ? Encoding.UTF8.GetString(bytes) : "";
                client.DeadLetters.Enqueue((e.BasicProperties.MessageId, error));
                return Task.CompletedTask;
            };
            await client._listener.BasicConsumeAsync(RabbitMqIngestion.DeadLetterQueue, autoAck: true, dead);
            return client;
        }

        public async Task PublishAsync(string messageId, string body) =>
            await _publisher.BasicPublishAsync(
                "", "rti.readings", mandatory: true, new BasicProperties { MessageId = messageId, DeliveryMode = DeliveryModes.Persistent }, Encoding.UTF8.GetBytes(body));

        public async Task UntilAsync(Func<bool> done, string what)
        {
            var waited = Stopwatch.StartNew();
            while (!done())
            {
                Assert.True(waited.Elapsed < Patience, $"Timed out waiting for {what}.");
                await Task.Delay(20);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _listener.DisposeAsync();
            await _publisher.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }

    private static string Reading(double temperature = 350, string tool = "tool-07", string sensor = "chamber-temp") =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""{"temperature":{{temperature}},"pressure":1013,"flow_rate":100,"tool_id":"{{tool}}","sensor_id":"{{sensor}}"}""");

    private long StoredRows(string messageIdPrefix) => (long)Stored("count(*)", messageIdPrefix)!;

    /// <summary>One value over the rows stored from the messages whose ids start with <paramref name="messageIdPrefix"/>.</summary>
    private object? Stored(string select, string messageIdPrefix)
    {
        SqliteConnection.ClearAllPools();
        using var connection = StoredPredictionRows.Open(server.ResultsPath);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {select} FROM predictions WHERE source = 'rabbitmq' AND request_id LIKE $prefix";
        command.Parameters.AddWithValue("$prefix", messageIdPrefix + "%");
        return command.ExecuteScalar();
    }

    [Fact]
    public async Task Readings_AreScored_PublishedAsResults_StoredOnce_AndAcknowledged()
    {
        _ = server.CreateClient();
        await using var client = await Client.ConnectAsync(server.Broker.Uri);
        var run = Guid.NewGuid().ToString("N")[..8];

        for (var i = 0; i < 200; i++)
        {
            await client.PublishAsync($"{run}-{i}", Reading(i % 10 == 0 ? 420 : 350));
        }

        await client.PublishAsync($"{run}-batch", "[" + string.Join(',', Enumerable.Range(0, 100).Select(_ => Reading())) + "]");
        // The same message again: a redelivery must not be stored twice.
        await client.PublishAsync($"{run}-0", Reading(420));
        await client.UntilAsync(() => client.Results.Count(r => r.Key.StartsWith(run, StringComparison.Ordinal)) == 201, "201 results");

        var spike = client.Results[$"{run}-0"];
        Assert.True(spike.GetProperty("is_anomaly").GetBoolean());
        Assert.Equal("sensor-anomaly", spike.GetProperty("model").GetString());
        Assert.Equal(100, client.Results[$"{run}-batch"].GetProperty("count").GetInt32());
        await client.UntilAsync(() => StoredRows(run) >= 300, "300 stored rows");
        Assert.Equal(300, StoredRows(run));
    }

    [Fact]
    public async Task ReadingsWithContext_AreRouted_StoredWithTheirContext_AndAFaultyOneIsDeadLettered()
    {
        _ = server.CreateClient();
        await using var client = await Client.ConnectAsync(server.Broker.Uri);
        var run = Guid.NewGuid().ToString("N")[..8];
        const string Reading = """{"context":{"tool_id":"litho-04","chamber_id":"B","recipe":"poly-etch","step":"main","lot_id":"L1","wafer_id":"W7"},"values":{"temperature":350,"pressure":1013,"flow_rate":100}}""";

        await client.PublishAsync($"{run}-one", Reading);
        await client.PublishAsync($"{run}-many", $"[{Reading},{Reading.Replace("350", "420", StringComparison.Ordinal)}]");
        await client.PublishAsync($"{run}-extra", Reading.Replace("\"flow_rate\":100", "\"flow_rate\":100,\"he_flow\":12", StringComparison.Ordinal));

        await client.UntilAsync(
            () => client.Results.ContainsKey($"{run}-one") && client.Results.ContainsKey($"{run}-many") && client.DeadLetters.Any(d => d.MessageId == $"{run}-extra"),
            "2 results and a dead letter");
        var one = client.Results[$"{run}-one"];
        Assert.Equal("B", one.GetProperty("context").GetProperty("chamber_id").GetString());
        Assert.Equal("sensor-anomaly", one.GetProperty("model").GetString());
        Assert.Equal([1], client.Results[$"{run}-many"].GetProperty("anomalies").EnumerateArray().Select(a => a.GetInt32()));
        Assert.StartsWith("values.he_flow:", client.DeadLetters.First(d => d.MessageId == $"{run}-extra").Error, StringComparison.Ordinal);
        await client.UntilAsync(() => StoredRows(run) >= 3, "3 stored rows");
        Assert.Equal(3, StoredRows(run));

        Assert.Equal("litho-04/B/poly-etch/main/L1/W7", Stored("DISTINCT tool_id || '/' || chamber_id || '/' || recipe || '/' || step || '/' || lot_id || '/' || wafer_id", run));
    }

    [Fact]
    public async Task PoisonMessages_AreDeadLetteredWithTheirReason_AndTheConsumerKeepsConsuming()
    {
        _ = server.CreateClient();
        await using var client = await Client.ConnectAsync(server.Broker.Uri);
        var run = Guid.NewGuid().ToString("N")[..8];

        await client.PublishAsync($"{run}-json", "{\"temperature\": 350,");
        await client.PublishAsync($"{run}-types", """{"temperature":"hot","pressure":1013,"flow_rate":100}""");
        await client.PublishAsync($"{run}-huge", "[" + new string(' ', 10 * 1024 * 1024) + "]");
        await client.PublishAsync($"{run}-fine", Reading());

        await client.UntilAsync(() => client.Results.ContainsKey($"{run}-fine") && client.DeadLetters.Count(d => d.MessageId?.StartsWith(run, StringComparison.Ordinal) == true) == 3, "3 dead letters and a result");
        var dead = client.DeadLetters.Where(d => d.MessageId?.StartsWith(run, StringComparison.Ordinal) == true).ToDictionary(d => d.MessageId!, d => d.Error);
        Assert.StartsWith("$", dead[$"{run}-json"], StringComparison.Ordinal);
        Assert.StartsWith("temperature:", dead[$"{run}-types"], StringComparison.Ordinal);
        Assert.Contains("Ingestion:MaxMessageBytes", dead[$"{run}-huge"], StringComparison.Ordinal);
    }
}

/// <summary>Brokers configured where none listens.</summary>
public sealed class UnreachableBrokersFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Ingestion:RabbitMq:Enabled", "true"),
        new("Ingestion:RabbitMq:Uri", "amqp://guest:guest@127.0.0.1:9/"),
        new("Ingestion:Mqtt:Enabled", "true"),
        new("Ingestion:Mqtt:Host", "127.0.0.1"),
        new("Ingestion:Mqtt:Port", "9"),
    ];
}

public sealed class UnreachableBrokersTests(UnreachableBrokersFixture server) : IClassFixture<UnreachableBrokersFixture>
{
    [Fact]
    public async Task BrokersAway_ReadinessIsDegraded_AndHttpKeepsServing()
    {
        var client = server.CreateClient();

        var ready = await client.GetAsync("/health/ready");
        var predict = await client.PostAsync("/predict", new StringContent("""{"temperature":350,"pressure":1013,"flow_rate":100}""", Encoding.UTF8, "application/json"));

        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        var health = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        var ingestion = health.GetProperty("checks").GetProperty("ingestion");
        Assert.Equal("reconnecting", ingestion.GetProperty("data").GetProperty("rabbitmq").GetString());
        Assert.Equal("reconnecting", ingestion.GetProperty("data").GetProperty("mqtt").GetString());
        Assert.Equal(System.Net.HttpStatusCode.OK, predict.StatusCode);
    }
}
