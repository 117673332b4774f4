using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Sockets;

/// <summary>A WebSocket answer to one reading (the seed's <c>{prediction, timestamp}</c>).</summary>
/// <param name="Prediction">The model's anomaly probability.</param>
/// <param name="IsAnomaly">Whether it reaches the model's threshold.</param>
/// <param name="Timestamp">The reading's timestamp, or when it arrived; RFC 3339 UTC.</param>
internal sealed record SocketPrediction(
    float Prediction,
    bool IsAnomaly,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp);

/// <summary>A WebSocket answer to a JSON array of readings.</summary>
/// <param name="Predictions">One anomaly probability per reading, in order.</param>
/// <param name="Count">Readings scored.</param>
/// <param name="Anomalies">Indexes of the anomalous readings.</param>
/// <param name="Timestamp">When the message arrived; RFC 3339 UTC.</param>
internal sealed record SocketBatchPrediction(
    ReadOnlyMemory<float> Predictions,
    int Count,
    IReadOnlyList<int> Anomalies,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SocketPrediction))]
[JsonSerializable(typeof(SocketBatchPrediction))]
internal sealed partial class SocketJsonContext : JsonSerializerContext;
