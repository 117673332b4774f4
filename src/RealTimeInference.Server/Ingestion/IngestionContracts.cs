using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Ingestion;

/// <summary>The result of a one-reading message: <c>/predict</c>'s answer and the message's id.</summary>
internal sealed record MessagePrediction(
    float Prediction,
    bool IsAnomaly,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp,
    double LatencyMs,
    string Model,
    int ModelVersion,
    bool Fallback,
    string MessageId);

/// <summary>The result of a message holding an array of readings: <c>/predict-batch</c>'s answer and the message's id.</summary>
internal sealed record MessageBatchPrediction(
    ReadOnlyMemory<float> Predictions,
    int Count,
    double AvgLatencyMs,
    double LatencyMs,
    IReadOnlyList<int> Anomalies,
    string Model,
    int ModelVersion,
    bool Fallback,
    string MessageId);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(MessagePrediction))]
[JsonSerializable(typeof(MessageBatchPrediction))]
internal sealed partial class IngestionJsonContext : JsonSerializerContext;
