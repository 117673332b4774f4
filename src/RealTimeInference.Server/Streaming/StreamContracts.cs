using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Streaming;

/// <summary>The reading a prediction was made for, as it was sent.</summary>
/// <param name="Timestamp">The reading's timestamp, or when it arrived; RFC 3339 UTC.</param>
/// <param name="Temperature">Chamber temperature, °C (a reading with context has its <c>values</c> instead).</param>
/// <param name="Pressure">Chamber pressure, mbar.</param>
/// <param name="FlowRate">Gas flow rate, sccm.</param>
/// <param name="ToolId">Equipment id, when known.</param>
/// <param name="SensorId">Sensor id, when known.</param>
internal sealed record StreamReading(
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp,
    float? Temperature,
    float? Pressure,
    float? FlowRate,
    string? ToolId,
    string? SensorId);

/// <summary>One prediction on <c>GET /stream-predictions</c> (the seed's <c>{"reading", "prediction"}</c> plus detail).</summary>
/// <param name="Reading">What was scored.</param>
/// <param name="Prediction">The model's anomaly probability.</param>
/// <param name="IsAnomaly">Whether it reaches the model's threshold.</param>
/// <param name="Source">Who sent the reading: <c>simulator</c>, <c>http</c> or <c>websocket</c>.</param>
/// <param name="Model">The model that answered.</param>
/// <param name="ModelVersion">Its version.</param>
internal sealed record PredictionEvent(
    StreamReading Reading,
    float Prediction,
    bool IsAnomaly,
    string Source,
    string Model,
    int ModelVersion)
{
    /// <summary>A reading with context: where it was taken.</summary>
    public ReadingContext? Context { get; init; }

    /// <summary>A reading with context: its sensors' values by name.</summary>
    public IReadOnlyDictionary<string, float>? Values { get; init; }
}

/// <summary>A <c>dropped</c> event: this subscriber lost events.</summary>
/// <param name="Dropped">How many events were lost since the last one it received.</param>
/// <param name="Reason"><c>slow_subscriber</c> (its buffer was full) or <c>replay_expired</c> (Last-Event-ID older than the replay buffer).</param>
internal sealed record DroppedEvent(long Dropped, string Reason);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PredictionEvent))]
[JsonSerializable(typeof(DroppedEvent))]
internal sealed partial class StreamJsonContext : JsonSerializerContext;
