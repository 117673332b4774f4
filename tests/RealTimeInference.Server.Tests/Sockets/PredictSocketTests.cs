using System.Buffers.Binary;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using RealTimeInference.Fab.Sensors;

using RealTimeInference.Server.Tests.Streaming;

namespace RealTimeInference.Server.Tests.Sockets;

public sealed class PredictSocketTests(StreamServerFixture server) : IClassFixture<StreamServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private async Task<WebSocket> ConnectAsync() =>
        await server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, "ws/predict"), CancellationToken.None);

    [Fact]
    public async Task Socket_SeedJsonReading_AnswersPredictionAndTimestampEqualToPredict()
    {
        using var socket = await ConnectAsync();
        await socket.SendTextAsync("""{"temperature":350.2,"pressure":1012.5,"flow_rate":99.8}""");

        var answer = await socket.ReceiveJsonAsync();
        var expected = await _client.PredictAsync(350.2f, pressure: 1012.5f, flow: 99.8f);
        Assert.Equal(expected.GetProperty("prediction").GetSingle(), answer.GetProperty("prediction").GetSingle());
        Assert.False(answer.GetProperty("is_anomaly").GetBoolean());
        Assert.True(DateTimeOffset.TryParse(answer.GetProperty("timestamp").GetString(), out _));
    }

    [Fact]
    public async Task Socket_JsonArray_AnswersOnePredictionPerReadingEqualToPredictBatch()
    {
        const string Batch = """[{"temperature":350,"pressure":1013,"flow_rate":100},{"temperature":0,"pressure":1013,"flow_rate":100},{"temperature":351,"pressure":1012,"flow_rate":99}]""";
        using var socket = await ConnectAsync();
        await socket.SendTextAsync(Batch);

        var answer = await socket.ReceiveJsonAsync();
        using var response = await _client.PostAsync("/predict-batch", new StringContent(Batch, Encoding.UTF8, "application/json"));
        var expected = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, answer.GetProperty("count").GetInt32());
        Assert.Equal(
            expected.GetProperty("predictions").EnumerateArray().Select(p => p.GetSingle()),
            answer.GetProperty("predictions").EnumerateArray().Select(p => p.GetSingle()));
        Assert.Equal([1], answer.GetProperty("anomalies").EnumerateArray().Select(i => i.GetInt32()));
    }

    [Fact]
    public async Task Socket_BinaryFrame_ReturnsScoresBitExactEqualToPredict()
    {
        var readings = new SensorSimulator(new SensorSimulatorOptions { Seed = 7, AnomalyRate = 0.2 }).Generate(3).ToArray();
        var frame = new byte[12 + (readings.Length * 12)];
        "RTI\u0001"u8.CopyTo(frame);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), (uint)readings.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(8), 3);
        for (var i = 0; i < readings.Length; i++)
        {
            var r = readings[i].Reading;
            BinaryPrimitives.WriteSingleLittleEndian(frame.AsSpan(12 + (i * 12)), r.Temperature);
            BinaryPrimitives.WriteSingleLittleEndian(frame.AsSpan(16 + (i * 12)), r.Pressure);
            BinaryPrimitives.WriteSingleLittleEndian(frame.AsSpan(20 + (i * 12)), r.FlowRate);
        }

        using var socket = await ConnectAsync();
        await socket.SendAsync(frame, WebSocketMessageType.Binary, true, CancellationToken.None);
        var (type, reply) = await socket.ReceiveMessageAsync();

        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal("RTI\u0001"u8.ToArray(), reply[..4]);
        Assert.Equal((uint)readings.Length, BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(8)));
        Assert.Equal(12 + (readings.Length * 4), reply.Length);
        for (var i = 0; i < readings.Length; i++)
        {
            var r = readings[i].Reading;
            var expected = (await _client.PredictAsync(r.Temperature, pressure: r.Pressure, flow: r.FlowRate)).GetProperty("prediction").GetSingle();
            var actual = BinaryPrimitives.ReadSingleLittleEndian(reply.AsSpan(12 + (i * 4)));
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual));
        }
    }

    [Fact]
    public async Task Socket_ManyMessagesSentBeforeReading_AreAnsweredInOrder()
    {
        const int Messages = 500;
        using var socket = await ConnectAsync();
        // Every other message an anomaly, each with its own echoed timestamp.
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Messages; i++)
            {
                var temperature = i % 2 == 0 ? 350 : 0;
                await socket.SendTextAsync($$"""{"timestamp":"2026-01-01T00:00:{{i / 60:D2}}.{{i % 60:D3}}Z","temperature":{{temperature}},"pressure":1013,"flow_rate":100}""");
            }
        });

        for (var i = 0; i < Messages; i++)
        {
            var answer = await socket.ReceiveJsonAsync();
            // Echoed in the one wire format: RFC 3339 UTC, fractional seconds only when there are any.
            var sent = new DateTimeOffset(2026, 1, 1, 0, 0, i / 60, i % 60, TimeSpan.Zero);
            Assert.Equal(sent.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture), answer.GetProperty("timestamp").GetString());
            Assert.Equal(i % 2 == 1, answer.GetProperty("is_anomaly").GetBoolean());
        }

        await sending;
    }

    [Fact]
    public async Task Socket_MessageOverTheLimit_IsClosedWithMessageTooBig()
    {
        using var socket = await ConnectAsync();
        // The fixture allows 65,536 bytes; this is about 104,000.
        var big = "[" + string.Join(',', Enumerable.Repeat("""{"temperature":350,"pressure":1013,"flow_rate":100}""", 2000)) + "]";
        await socket.SendTextAsync(big);

        var buffer = new byte[1024];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, result.CloseStatus);
    }

    [Fact]
    public async Task Socket_MessageLargerThanTheFirstReceiveBuffer_IsAnsweredWhole()
    {
        using var socket = await ConnectAsync();
        // About 52,000 bytes: more than the 16 KiB a connection starts with, within the fixture's limit.
        var readings = Enumerable.Range(0, 1000).Select(i => $$"""{"temperature":{{300 + (i % 100)}},"pressure":1013,"flow_rate":100}""");
        await socket.SendTextAsync("[" + string.Join(',', readings) + "]");

        var answer = await socket.ReceiveJsonAsync();
        Assert.Equal(1000, answer.GetProperty("count").GetInt32());
        Assert.Equal(1000, answer.GetProperty("predictions").GetArrayLength());
    }

    [Fact]
    public async Task Socket_IdThatIsNotUnicode_GetsAnErrorNamingIt_AndTheSocketStaysOpen()
    {
        using var socket = await ConnectAsync();

        await socket.SendTextAsync("""{"temperature":350,"pressure":1013,"flow_rate":100,"tool_id":"\ud800"}""");
        var error = await socket.ReceiveJsonAsync();
        await socket.SendTextAsync("""{"temperature":350,"pressure":1013,"flow_rate":100,"tool_id":"tool-01"}""");
        var next = await socket.ReceiveJsonAsync();

        Assert.Equal("invalid_message", error.GetProperty("error").GetString());
        Assert.Equal("tool_id", error.GetProperty("field").GetString());
        Assert.True(next.TryGetProperty("prediction", out _));
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [Fact]
    public async Task Socket_MalformedMessages_GetAnErrorNamingTheProblemAndTheConnectionStaysUsable()
    {
        using var socket = await ConnectAsync();

        await socket.SendTextAsync("""{"temperature":"hot","pressure":1013,"flow_rate":100}""");
        var wrongType = await socket.ReceiveJsonAsync();
        Assert.Equal("invalid_message", wrongType.GetProperty("error").GetString());
        Assert.Equal("temperature", wrongType.GetProperty("field").GetString());
        Assert.Contains("temperature must be a number", wrongType.GetProperty("detail").GetString(), StringComparison.Ordinal);

        await socket.SendTextAsync("not json");
        Assert.Contains("Malformed JSON", (await socket.ReceiveJsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);

        await socket.SendAsync(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal("magic", (await socket.ReceiveJsonAsync()).GetProperty("field").GetString());

        var shortFrame = new byte[12 + 8];
        "RTI\u0001"u8.CopyTo(shortFrame);
        BinaryPrimitives.WriteUInt32LittleEndian(shortFrame.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(shortFrame.AsSpan(8), 3);
        await socket.SendAsync(shortFrame, WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal("row_count", (await socket.ReceiveJsonAsync()).GetProperty("field").GetString());

        await socket.SendTextAsync("""[{"temperature":350,"pressure":1013}]""");
        Assert.Equal("[0].flow_rate", (await socket.ReceiveJsonAsync()).GetProperty("field").GetString());

        await socket.SendTextAsync("""{"temperature":350,"pressure":1013,"flow_rate":100}""");
        Assert.InRange((await socket.ReceiveJsonAsync()).GetProperty("prediction").GetSingle(), 0, 0.5f);
    }

    [Fact]
    public async Task Socket_Predictions_AppearOnTheStreamTaggedWebSocket()
    {
        await using var stream = await EventStream.OpenAsync(_client, "/stream-predictions?tool_id=ws-tool");
        using var socket = await ConnectAsync();
        await socket.SendTextAsync("""{"temperature":349,"pressure":1013,"flow_rate":100,"tool_id":"ws-tool","sensor_id":"s1"}""");
        var answer = await socket.ReceiveJsonAsync();

        var (_, data) = await stream.NextPredictionAsync();
        Assert.Equal("websocket", data.GetProperty("source").GetString());
        Assert.Equal(answer.GetProperty("prediction").GetSingle(), data.GetProperty("prediction").GetSingle());
    }
}
