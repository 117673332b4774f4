using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using RealTimeInference.Fab.Tests.Wafers;
using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.Server.Tests.Wafers;

public sealed class WebcamSocketTests(WaferLimitsFixture server) : IClassFixture<WaferLimitsFixture>
{
    private static string Frame(byte[] image) => JsonSerializer.Serialize(new Dictionary<string, string> { ["frame"] = Convert.ToBase64String(image) });

    private async Task<WebSocket> ConnectAsync(string path = "ws/webcam") =>
        await server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, path), CancellationToken.None);

    private static async Task<JsonElement> ExchangeAsync(WebSocket socket, string message)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        var buffer = new byte[64 * 1024];
        var received = 0;
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(received), CancellationToken.None) is var r
                ? new WebSocketReceiveResult(r.Count, r.MessageType, r.EndOfMessage)
                : throw new InvalidOperationException();
            received += result.Count;
        }
        while (!result.EndOfMessage);

        return JsonDocument.Parse(buffer.AsMemory(0, received)).RootElement.Clone();
    }

    [Fact]
    public async Task Webcam_Frames_GetTheSeedsFieldsAndTheClassDetail()
    {
        using var socket = await ConnectAsync();

        var defect = await ExchangeAsync(socket, Frame(WaferImages.Png(WaferPattern.NearFull)));
        var clean = await ExchangeAsync(socket, Frame(WaferImages.Jpeg(WaferPattern.None, seed: 2)));

        Assert.True(defect.GetProperty("defect_detected").GetBoolean());
        Assert.Equal("near-full", defect.GetProperty("defect_type").GetString());
        Assert.InRange(defect.GetProperty("confidence").GetDouble(), 0.5, 1);
        Assert.True(DateTimeOffset.TryParse(defect.GetProperty("timestamp").GetString(), out _));
        Assert.Equal(9, defect.GetProperty("class_probabilities").EnumerateObject().Count());
        Assert.False(clean.GetProperty("defect_detected").GetBoolean());
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task Webcam_ABlackFrameIsNotAWafer_AndAFrozenFeed_RaisesOneCameraAlertForItsStation()
    {
        var station = "insp-" + Guid.NewGuid().ToString("N")[..8];
        using var socket = await ConnectAsync($"ws/webcam?station={station}");

        var black = await ExchangeAsync(socket, Frame(WaferEndpointTests.BlackPng()));
        Assert.Equal("not_a_wafer", black.GetProperty("error").GetString());
        Assert.Equal("blank", black.GetProperty("reason").GetString());
        Assert.Equal(422, black.GetProperty("status").GetInt32());

        // The same wafer again and again (the first differs from the black frame, so the run starts at the second):
        // Wafer:CameraFaultFrames (10) in a row make a frame faulty, and Alerts:FireAnomalies (3) faulty frames of Alerts:Window open the alert.
        var frozen = Frame(WaferImages.Png(WaferPattern.None));
        for (var i = 0; i < 12; i++)
        {
            Assert.False((await ExchangeAsync(socket, frozen)).TryGetProperty("error", out _));
            Assert.Empty(await CameraAlertsAsync(station));
        }

        Assert.False((await ExchangeAsync(socket, frozen)).TryGetProperty("error", out _));
        var alert = Assert.Single(await CameraAlertsAsync(station));
        Assert.Equal("camera", alert.GetProperty("sensor_id").GetString());
        Assert.Equal("camera", alert.GetProperty("model").GetString());
        Assert.Equal("firing", alert.GetProperty("state").GetString());
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task Webcam_ABadStationName_Is400BeforeTheUpgrade()
    {
        var response = await server.CreateClient().GetAsync("/ws/webcam?station=" + Uri.EscapeDataString("bad station!"));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
    }

    private async Task<JsonElement[]> CameraAlertsAsync(string station) =>
        [.. (await server.CreateClient().GetFromJsonAsync<JsonElement>($"/alerts?tool_id={station}")).GetProperty("items").EnumerateArray()];

    [Fact]
    public async Task Webcam_DataUrlFrame_IsAccepted()
    {
        using var socket = await ConnectAsync();
        var frame = "data:image/png;base64," + Convert.ToBase64String(WaferImages.Png(WaferPattern.Center));

        var answer = await ExchangeAsync(socket, JsonSerializer.Serialize(new Dictionary<string, string> { ["frame"] = frame }));

        Assert.Equal("center", answer.GetProperty("defect_type").GetString());
    }

    public static TheoryData<string, string, int, string> BadFrames => new()
    {
        { "not JSON", "hello", 400, "$" },
        { "no frame", """{"image":"abc"}""", 400, "frame" },
        { "bad base64", """{"frame":"***"}""", 400, "frame" },
        { "corrupt image", Frame(Encoding.ASCII.GetBytes("not an image")), 400, "frame" },
        { "truncated PNG", Frame(WaferBadInputTests.Truncated(WaferImages.Png(WaferPattern.Scratch))), 400, "frame" },
        { "20000x20000 header", Frame(ForgedPng.WithHeader(20_000, 20_000)), 413, "frame" },
        { "message over the limit", Frame(new byte[WaferLimitsFixture.MaxFrameMessageBytes]), 413, "$" },
    };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public async Task Webcam_BadFrame_GetsAnErrorMessage_AndTheSocketKeepsServing(string name, string message, int status, string field)
    {
        using var socket = await ConnectAsync();

        var error = await ExchangeAsync(socket, message);
        var next = await ExchangeAsync(socket, Frame(WaferImages.Png(WaferPattern.Donut)));

        Assert.True(status == error.GetProperty("status").GetInt32(), name);
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.Equal(status == 413 ? "message_too_large" : "invalid_message", error.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("detail").GetString()));
        Assert.Equal("donut", next.GetProperty("defect_type").GetString());
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [Fact]
    public async Task Webcam_PlainHttpRequest_Is400Problem()
    {
        var response = await server.CreateClient().GetAsync("/ws/webcam");

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
