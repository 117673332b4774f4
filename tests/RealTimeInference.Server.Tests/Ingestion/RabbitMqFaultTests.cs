using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using RealTimeInference.Server.Ingestion;
using Xunit.Abstractions;

using RealTimeInference.Server.Tests.Results;

namespace RealTimeInference.Server.Tests.Ingestion;

/// <summary>
/// RabbitMQ ingestion through faults, counted end to end: the server SIGKILLed mid-stream and another
/// started on the same results store, and the broker restarted mid-stream. Each test has its own
/// broker and store; every message id must get a published result, every reading exactly one stored
/// row, and the queue must end empty (nothing ready, nothing unacknowledged): none lost.
/// </summary>
public sealed partial class RabbitMqFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string ReadingsQueue = "rti.readings";

    private readonly RabbitMqBroker _broker = new();
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "rti-rabbit-faults-" + Guid.NewGuid().ToString("N"));

    private string StoreFile => Path.Combine(_folder, "results.db");

    /// <summary>
    /// The server's settings; every server of a test uses the same results store file. Rows wait up to
    /// <paramref name="writeInterval"/> to be written together, and a message is acknowledged once its
    /// rows are: the longer, the more messages are in flight.
    /// </summary>
    private string[] Settings(string writeInterval) =>
    [
        "--Ingestion:RabbitMq:Enabled=true",
        "--Ingestion:RabbitMq:Uri=" + _broker.Uri,
        "--Ingestion:RetryBackoff=00:00:00.05",
        "--Ingestion:MaxReconnectBackoff=00:00:01",
        "--Results:WriteInterval=" + writeInterval,
        "--Results:Path=" + StoreFile,
        "--Serilog:MinimumLevel:Override:RealTimeInference.Server.Ingestion=Information",
    ];

    public Task InitializeAsync() => _broker.InitializeAsync();

    public async Task DisposeAsync()
    {
        try
        {
            await _broker.DisposeAsync();
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            if (Directory.Exists(_folder))
            {
                Directory.Delete(_folder, recursive: true);
            }
        }
    }

    [Fact]
    public async Task ServerKilledMidStream_AnotherOnTheSameStore_StoresEveryReadingOnce_AndNoneIsLost()
    {
        // 100,000 readings as 1,000 persistent messages of 100 readings each (JSON arrays), with message ids.
        const int Messages = 1_000;
        const int PerMessage = 100;
        // Until the kill the publisher stays at most this many messages ahead of what is stored, so the
        // stream is still flowing when the server dies; after it, the rest is published at once.
        const int Window = 300;
        var took = Stopwatch.StartNew();
        var run = Guid.NewGuid().ToString("N")[..8];
        var messages = Enumerable.Range(0, Messages).Select(i => new Message($"{run}-{i:D4}", Batch(i, PerMessage))).ToArray();
        var first = await RealServer.StartAsync(Settings("00:00:00.02"));
        RealServer? second = null;
        try
        {
            await using var connection = await Factory().CreateConnectionAsync();
            await TopologyAsync(connection);
            await using var results = await ResultsListener.StartAsync(connection);

            using var killed = new CancellationTokenSource();
            var stored = 0L;
            var publishing = PublishAsync(connection, messages, i => killed.IsCancellationRequested || i < (Volatile.Read(ref stored) / PerMessage) + Window);
            // SIGKILL once a fifth of the readings is stored (and acknowledged, or about to be); the wait
            // also tells the publisher how far the store is.
            bool StoredAFifth()
            {
                Volatile.Write(ref stored, Scalar(StoredRows));
                return Volatile.Read(ref stored) >= Messages * PerMessage / 5;
            }

            await UntilAsync(() => StoredAFifth() || publishing.IsFaulted, TimeSpan.FromSeconds(60), "20 % of the readings stored before the kill", first);
            first.Process.Kill();
            await first.Process.WaitForExitAsync();
            await killed.CancelAsync();
            var seenAtKill = results.Seen.Count;
            var storedAtKill = Scalar(StoredRows);
            output.WriteLine(
                $"SIGKILL after {took.Elapsed.TotalSeconds:F1} s: {seenAtKill} of {Messages} message ids had a result, "
                + $"{storedAtKill} of {Messages * PerMessage} readings were stored.");
            Assert.True(storedAtKill < Messages * PerMessage && seenAtKill < Messages, "The kill came after the stream was done.");

            await publishing;
            second = await RealServer.StartAsync(Settings("00:00:00.02"));
            await UntilAsync(() => results.Seen.Count == Messages, TimeSpan.FromSeconds(120), "a result for every message id", second);
            await UntilAsync(() => Scalar(StoredRows) >= Messages * PerMessage, TimeSpan.FromSeconds(60), "every reading stored", second);
            await UntilQueueEmptyAsync(connection, second);

            AssertStoredOnce(run, Messages, PerMessage);
            Assert.All(messages, m => Assert.True(results.Seen.ContainsKey(m.Id), $"No result for {m.Id}."));
            Assert.All(results.Readings, r => Assert.Equal(PerMessage, r.Value));
            using var http = new HttpClient { BaseAddress = second.Url };
            var handledBySecond = await MetricAsync(http, "rti_ingest_messages_total", "outcome=\"ok\"");
            var duplicateRows = await MetricAsync(http, "rti_results_duplicates_total");
            output.WriteLine(
                $"Done after {took.Elapsed.TotalSeconds:F1} s: the second server handled {handledBySecond} messages; {Messages} message ids with results, "
                + $"{results.Duplicates} results published twice ({results.Seen.Count(s => s.Value > 1)} message ids); "
                + $"{Messages * PerMessage} readings stored once each ({duplicateRows} redelivered rows found stored already); queue empty: 0 lost.");
        }
        finally
        {
            first.Dispose();
            second?.Dispose();
        }
    }

    [Fact]
    public async Task BrokerRestartedMidStream_ReadinessDegradedMeanwhile_EveryMessageStoredOnce_WithAResult()
    {
        // Persistent single-reading messages with message ids: a stream that flows until the broker goes
        // away (at most Window messages ahead of their results: some are queued or in flight then),
        // asked to stop after 600 results (30 % of 2,000), and After more published once it is back.
        const int Window = 2_000;
        const int After = 1_000;
        var took = Stopwatch.StartNew();
        var run = Guid.NewGuid().ToString("N")[..8];
        var stream = Enumerable.Range(0, 20_000).Select(i => new Message($"{run}-{i:D5}", Encoding.UTF8.GetBytes(Reading(i)))).ToArray();
        // Rows written every 250 ms: many messages are scored and published but not yet acknowledged when the broker stops.
        using var server = await RealServer.StartAsync(Settings("00:00:00.25"));
        using var http = new HttpClient { BaseAddress = server.Url };
        // What the test's results queue delivered, kept across the test's two connections.
        var seen = new ConcurrentDictionary<string, int>();
        var readings = new ConcurrentDictionary<string, int>();

        Published before;
        await using (var connection = await Factory().CreateConnectionAsync())
        {
            await TopologyAsync(connection);
            // A durable results queue, bound before publishing: results confirmed to the server while the
            // test is disconnected wait in it.
            await using var results = await ResultsListener.StartAsync(connection, seen, readings);
            using var stopped = new CancellationTokenSource();
            var publishing = PublishAsync(connection, stream, i => stopped.IsCancellationRequested || i < seen.Count + Window, untilTheBrokerGoes: true);
            await UntilAsync(() => seen.Count >= 600 || publishing.IsFaulted, TimeSpan.FromSeconds(60), "600 results before the restart", server);
            var seenAtStop = seen.Count;
            await _broker.StopAsync();
            await stopped.CancelAsync();
            before = await publishing;
            output.WriteLine(
                $"Broker stopped after {took.Elapsed.TotalSeconds:F1} s, asked when {seenAtStop} message ids had a result; by then {before.Taken} messages "
                + $"were published, {before.Confirmed.Count} of them confirmed, and {seen.Count} had a result.");
        }

        // Away: readiness says Degraded for the ingestion check (still 200), and HTTP keeps answering.
        var lastReady = default((string, string?, string?));
        await UntilAsync(
            async () => (lastReady = await ReadyAsync(http)) is ("Degraded", "Degraded", "reconnecting"),
            TimeSpan.FromSeconds(60),
            "readiness to report the ingestion check Degraded while the broker is away",
            server,
            async () => $"last readiness {lastReady}; " + string.Join("; ", (await http.GetStringAsync("/metrics")).Split('\n').Where(l => l.StartsWith("rti_ingest", StringComparison.Ordinal) || l.StartsWith("rti_results_queued", StringComparison.Ordinal))));
        var predict = await http.PostAsJsonAsync("/predict", new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0, tool_id = "http", sensor_id = "s" });
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        var handledBefore = await MetricAsync(http, "rti_ingest_messages_total", "outcome=\"ok\"");

        await _broker.StartAsync();
        output.WriteLine($"Broker started again after {took.Elapsed.TotalSeconds:F1} s.");
        var messages = stream[..Math.Min(stream.Length, before.Taken + After)];
        await using (var connection = await Factory().CreateConnectionAsync())
        {
            await using var results = await ResultsListener.StartAsync(connection, seen, readings);
            // What was not confirmed before the stop (it may be in the queue already: the store keeps it once), and the rest.
            var again = messages.Where(m => !before.Confirmed.Contains(m.Id)).ToArray();
            await PublishAsync(connection, again);
            await UntilAsync(() => seen.Count == messages.Length, TimeSpan.FromSeconds(120), "a result for every message id", server);
            await UntilAsync(() => Scalar(StoredRows) >= messages.Length, TimeSpan.FromSeconds(60), "every reading stored", server);
            await UntilQueueEmptyAsync(connection, server);
            await UntilAsync(async () => await ReadyAsync(http) is ("Healthy", "Healthy", "connected"), TimeSpan.FromSeconds(30), "readiness to report the ingestion check Healthy again", server);

            AssertStoredOnce(run, messages.Length, 1);
            Assert.All(messages, m => Assert.True(seen.ContainsKey(m.Id), $"No result for {m.Id}."));
            Assert.All(readings, r => Assert.Equal(1, r.Value));
            var handledAfter = await MetricAsync(http, "rti_ingest_messages_total", "outcome=\"ok\"") - handledBefore;
            var duplicateRows = await MetricAsync(http, "rti_results_duplicates_total");
            output.WriteLine(
                $"Done after {took.Elapsed.TotalSeconds:F1} s: {messages.Length} messages, {again.Length} published after the restart "
                + $"({again.Length - After} again); the server handled {handledAfter} after the restart ({handledAfter - again.Length} left from before the stop); "
                + $"{messages.Length} message ids with results, {seen.Values.Sum(n => n - 1)} results published twice; {messages.Length} readings stored once each "
                + $"({duplicateRows} redelivered rows found stored already); queue empty: 0 lost.");
            output.WriteLine(
                $"The server logged: {string.Join("; ", Logged(server, "RabbitMQ connection"))}; "
                + $"{Logged(server, "not acknowledged").Count} messages not acknowledged, to be delivered again; "
                + $"in flight now: {await MetricAsync(http, "rti_ingest_in_flight_messages", "transport=\"rabbitmq\"")}; "
                + $"outcomes: {string.Join(", ", (await http.GetStringAsync("/metrics")).Split('\n').Where(l => l.StartsWith("rti_ingest_messages_total", StringComparison.Ordinal)))}.");
        }
    }

    private const string StoredRows = "SELECT count(*) FROM predictions WHERE source = 'rabbitmq'";

    private sealed record Message(string Id, byte[] Body);

    /// <summary>How far a publisher got: the messages it took in order, and the ids the broker confirmed.</summary>
    private sealed record Published(int Taken, HashSet<string> Confirmed);

    /// <summary>The test's own connections do not recover by themselves: after a restart the test connects again.</summary>
    private ConnectionFactory Factory() => new() { Uri = _broker.Uri, AutomaticRecoveryEnabled = false, TopologyRecoveryEnabled = false };

    private static string Reading(int i) =>
        string.Create(CultureInfo.InvariantCulture, $$"""{"temperature":{{350 + (i % 7)}},"pressure":1013,"flow_rate":100,"tool_id":"tool-{{i % 10:D2}}","sensor_id":"chamber-temp"}""");

    private static byte[] Batch(int i, int readings) =>
        Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Range(0, readings).Select(r => Reading(i + r))) + "]");

    /// <summary>
    /// Publishes persistent messages with their ids over several channels, each message confirmed by
    /// the broker (mandatory: the readings queue must take it); message i waits until
    /// <paramref name="mayPublish"/> allows it. Returns the ids confirmed: all of them, unless
    /// <paramref name="untilTheBrokerGoes"/> and the broker went away first.
    /// </summary>
    private static async Task<Published> PublishAsync(IConnection connection, IReadOnlyList<Message> messages, Func<int, bool>? mayPublish = null, bool untilTheBrokerGoes = false)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var confirmed = new ConcurrentBag<string>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            try
            {
                await using var channel = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), timeout.Token);
                int i;
                while ((i = Interlocked.Increment(ref next)) < messages.Count)
                {
                    while (mayPublish?.Invoke(i) == false)
                    {
                        await Task.Delay(5, timeout.Token);
                    }

                    var properties = new BasicProperties { MessageId = messages[i].Id, ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
                    await channel.BasicPublishAsync("", ReadingsQueue, mandatory: true, properties, messages[i].Body, timeout.Token);
                    confirmed.Add(messages[i].Id);
                }
            }
            catch (Exception ex) when (untilTheBrokerGoes && ex is AlreadyClosedException or OperationInterruptedException or PublishException)
            {
                // The broker went away: what this channel had not seen confirmed is published again later.
            }
        }));
        return new Published(Math.Min(messages.Count, next + 1), [.. confirmed]);
    }

    /// <summary>Waits for the server to declare its topology (it does when it connects).</summary>
    private static async Task TopologyAsync(IConnection connection)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var probe = await connection.CreateChannelAsync();
                await probe.ExchangeDeclarePassiveAsync(RabbitMqIngestion.ResultsExchange);
                await probe.QueueDeclarePassiveAsync(ReadingsQueue);
                return;
            }
            catch (OperationInterruptedException) when (waited.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Nothing left in the readings queue, ready or unacknowledged, and nothing dead-lettered.</summary>
    private async Task UntilQueueEmptyAsync(IConnection connection, RealServer server)
    {
        await UntilAsync(async () => await _broker.MessagesAsync(ReadingsQueue) == 0, TimeSpan.FromSeconds(60), "the readings queue to be empty (ready and unacknowledged)", server);
        await using var channel = await connection.CreateChannelAsync();
        Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(ReadingsQueue)).MessageCount);
        Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(RabbitMqIngestion.DeadLetterQueue)).MessageCount);
    }

    /// <summary>Exactly one stored row per (message id, index): every reading of every message, none twice.</summary>
    private void AssertStoredOnce(string run, int messages, int perMessage)
    {
        Assert.Equal(messages * perMessage, Scalar(StoredRows));
        Assert.Equal(messages, Scalar($"SELECT count(DISTINCT request_id) FROM predictions WHERE source = 'rabbitmq' AND request_id LIKE '{run}-%'"));
        Assert.Equal(0, Scalar("SELECT count(*) FROM predictions WHERE source = 'rabbitmq' AND message_id IS NOT request_id"));
        Assert.Equal(0, Scalar(
            $"""
            SELECT count(*) FROM (
                SELECT request_id FROM predictions WHERE source = 'rabbitmq' GROUP BY request_id
                HAVING count(*) <> {perMessage} OR count(DISTINCT message_seq) <> {perMessage} OR min(message_seq) <> 0 OR max(message_seq) <> {perMessage - 1})
            """));
    }

    /// <summary>The server's log messages (JSON lines, <c>@m</c>) that contain <paramref name="text"/>.</summary>
    private static List<string> Logged(RealServer server, string text) =>
        [.. server.Output.Where(line => line.StartsWith('{') && line.Contains(text, StringComparison.Ordinal)).Select(LogMessage).Where(m => m.Contains(text, StringComparison.Ordinal))];

    private static string LogMessage(string line)
    {
        using var json = JsonDocument.Parse(line);
        return json.RootElement.TryGetProperty("@m", out var message) ? message.GetString() ?? "" : "";
    }

    /// <summary>One number from the store file, which another process writes.</summary>
    private long Scalar(string sql)
    {
        if (!File.Exists(StoreFile))
        {
            return 0;
        }

        using var connection = StoredPredictionRows.Open(StoreFile);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static async Task<(string Status, string? Ingestion, string? RabbitMq)> ReadyAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/health/ready");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var ingestion = body.RootElement.GetProperty("checks").GetProperty("ingestion");
        return (
            body.RootElement.GetProperty("status").GetString()!,
            ingestion.GetProperty("status").GetString(),
            ingestion.GetProperty("data").TryGetProperty("rabbitmq", out var rabbit) ? rabbit.GetString() : null);
    }

    /// <summary>The sum of a metric's series (those whose labels contain <paramref name="label"/>), 0 before it has any.</summary>
    private static async Task<double> MetricAsync(HttpClient http, string name, string label = "") =>
        MetricLine().Matches(await http.GetStringAsync("/metrics"))
            .Where(m => m.Groups["name"].Value == name && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-z_]+)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex MetricLine();

    private Task UntilAsync(Func<bool> done, TimeSpan patience, string what, RealServer server) =>
        UntilAsync(() => Task.FromResult(done()), patience, what, server, null);

    /// <summary>Polls <paramref name="done"/> every 50 ms; past <paramref name="patience"/> fails naming what never happened, with the server's last log lines.</summary>
    private async Task UntilAsync(Func<Task<bool>> done, TimeSpan patience, string what, RealServer server, Func<Task<string>>? diagnose = null)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await done())
                {
                    return;
                }
            }
            catch (SqliteException)
            {
                // The store is being written or recovered by the server: ask again.
            }

            if (waited.Elapsed > patience)
            {
                output.WriteLine(string.Join("\n", server.Output.TakeLast(30)));
                if (diagnose is not null)
                {
                    output.WriteLine(await diagnose());
                }

                Assert.Fail($"Timed out after {patience.TotalSeconds:F0} s waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Results from <c>rti.predictions</c> (all keys) through a durable queue the test declares, so that
    /// results confirmed to the server while the test is disconnected wait for it; acknowledged once
    /// counted. Counts each result published per message id (a redelivery to this listener is not a
    /// second publication) and the readings it reports.
    /// </summary>
    private sealed class ResultsListener : IAsyncDisposable
    {
        private const string Queue = "rti.test.results";

        private IChannel _channel = null!;

        private ResultsListener(ConcurrentDictionary<string, int> seen, ConcurrentDictionary<string, int> readings)
        {
            Seen = seen;
            Readings = readings;
        }

        /// <summary>Results published per message id.</summary>
        public ConcurrentDictionary<string, int> Seen { get; }

        /// <summary>Readings a message's result reports (<c>count</c>, or 1 for a single reading).</summary>
        public ConcurrentDictionary<string, int> Readings { get; }

        /// <summary>Results published again for a message id that had one already.</summary>
        public int Duplicates => Seen.Values.Sum(n => n - 1);

        public static async Task<ResultsListener> StartAsync(IConnection connection, ConcurrentDictionary<string, int>? seen = null, ConcurrentDictionary<string, int>? readings = null)
        {
            var listener = new ResultsListener(seen ?? new(), readings ?? new());
            var channel = listener._channel = await connection.CreateChannelAsync();
            await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false);
            await channel.QueueBindAsync(Queue, RabbitMqIngestion.ResultsExchange, "#");
            await channel.BasicQosAsync(0, 1_000, false);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, e) =>
            {
                using var body = JsonDocument.Parse(e.Body);
                var id = body.RootElement.GetProperty("message_id").GetString()!;
                if (!(e.Redelivered && listener.Seen.ContainsKey(id)))
                {
                    listener.Readings[id] = body.RootElement.TryGetProperty("count", out var count) ? count.GetInt32() : 1;
                    listener.Seen.AddOrUpdate(id, 1, (_, n) => n + 1);
                }

                await channel.BasicAckAsync(e.DeliveryTag, multiple: false);
            };
            await channel.BasicConsumeAsync(Queue, autoAck: false, consumer);
            return listener;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _channel.DisposeAsync();
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException)
            {
                // The broker went away with it.
            }
        }
    }
}
