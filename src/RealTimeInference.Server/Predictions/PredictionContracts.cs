using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Predictions;

/// <summary>A sensor reading as clients send it (documented in Swagger; parsed by <see cref="SensorReadingJson"/>).</summary>
/// <param name="Timestamp">RFC 3339 time of the reading (UTC when it has no offset); optional, echoed back in UTC.</param>
/// <param name="Temperature">Chamber temperature, °C.</param>
/// <param name="Pressure">Chamber pressure, mbar.</param>
/// <param name="FlowRate">Gas flow rate, sccm.</param>
/// <param name="ToolId">Optional equipment id.</param>
/// <param name="SensorId">Optional sensor id.</param>
internal sealed record SensorReadingRequest(
    string? Timestamp,
    float Temperature,
    float Pressure,
    float FlowRate,
    string? ToolId,
    string? SensorId);

/// <param name="Prediction">The model's anomaly probability.</param>
/// <param name="IsAnomaly">Whether the probability reaches the model's threshold (model.json).</param>
/// <param name="Timestamp">The reading's timestamp, or the server's time when none was sent; RFC 3339 UTC.</param>
/// <param name="LatencyMs">Server time spent on this request, measured.</param>
/// <param name="Model">Name of the model that answered.</param>
/// <param name="ModelVersion">Version of the model that answered.</param>
/// <param name="Fallback">True when the configured model could not answer (it failed, or its circuit breaker is open) and its fallback model, or the safe default (model "safe-default"), answered instead.</param>
internal sealed record PredictionResponse(
    float Prediction,
    bool IsAnomaly,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp,
    double LatencyMs,
    string Model,
    int ModelVersion,
    bool Fallback);

/// <param name="Predictions">One anomaly probability per reading, in request order.</param>
/// <param name="Count">Readings scored.</param>
/// <param name="AvgLatencyMs">Server time per reading: <c>latency_ms / count</c>.</param>
/// <param name="LatencyMs">Server time spent on the whole request, measured.</param>
/// <param name="Anomalies">Indexes of the readings whose probability reaches the threshold.</param>
/// <param name="Model">Name of the model that answered.</param>
/// <param name="ModelVersion">Version of the model that answered.</param>
/// <param name="Fallback">True when the fallback model or the safe default answered, as for /predict.</param>
internal sealed record BatchPredictionResponse(
    ReadOnlyMemory<float> Predictions,
    int Count,
    double AvgLatencyMs,
    double LatencyMs,
    IReadOnlyList<int> Anomalies,
    string Model,
    int ModelVersion,
    bool Fallback);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SensorReadingRequest))]
[JsonSerializable(typeof(PredictionResponse))]
[JsonSerializable(typeof(BatchPredictionResponse))]
internal sealed partial class PredictionJsonContext : JsonSerializerContext;
