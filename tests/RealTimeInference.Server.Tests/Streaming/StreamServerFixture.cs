using System.Net.Http.Json;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Streaming;

/// <summary>The server with small stream buffers, so tests can overflow them with a few hundred events.</summary>
public sealed class StreamServerFixture : ServerFixture
{
    public const int SubscriberBufferSize = 16;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Streaming:SubscriberBufferSize", SubscriberBufferSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Streaming:ReplayCapacity", "64"),
        // Each test event is awaited one by one; coalescing would only add its interval to each.
        new("Streaming:CoalesceInterval", "00:00:00"),
        new("WebSockets:MaxMessageBytes", "65536"),
    ];
}

internal static class Readings
{
    /// <summary>POSTs one reading to /predict and returns the response body.</summary>
    public static async Task<JsonElement> PredictAsync(this HttpClient client, float temperature, string? toolId = null, string? sensorId = null, float pressure = 1013, float flow = 100)
    {
        using var response = await client.PostAsJsonAsync("/predict", new Dictionary<string, object?>
        {
            ["temperature"] = temperature,
            ["pressure"] = pressure,
            ["flow_rate"] = flow,
            ["tool_id"] = toolId,
            ["sensor_id"] = sensorId,
        });
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
