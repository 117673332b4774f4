using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Results;

/// <summary>A stored prediction as <c>GET /predictions</c> answers it.</summary>
/// <param name="Id">Its place in the store.</param>
/// <param name="Timestamp">When the reading was taken.</param>
/// <param name="PredictedAt">When the server scored it.</param>
/// <param name="Source">http, websocket or simulator.</param>
/// <param name="ToolId">The tool, when the client said.</param>
/// <param name="SensorId">The sensor, when the client said.</param>
/// <param name="Context">A reading with context: its tool, chamber, recipe, step, lot and wafer (null for a reading of the seed's three fields).</param>
/// <param name="Reading">A reading of the seed's three fields: the inputs as scored (null for a reading with context).</param>
/// <param name="Values">A reading with context: its sensors' values by name.</param>
/// <param name="Prediction">The model's probability of an anomaly.</param>
/// <param name="IsAnomaly">It reached the model's threshold.</param>
/// <param name="Model">The model that answered.</param>
/// <param name="ModelVersion">Its version.</param>
/// <param name="LatencyMs">From the request's arrival to the score, measured.</param>
/// <param name="LatencyClass">The class it was scored in.</param>
/// <param name="RequestId">The request (socket message, simulator tick) it answered.</param>
internal sealed record StoredPredictionItem(
    long Id,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset PredictedAt,
    string Source,
    string? ToolId,
    string? SensorId,
    ReadingContext? Context,
    StoredReading? Reading,
    IReadOnlyDictionary<string, float>? Values,
    float Prediction,
    bool IsAnomaly,
    string Model,
    int ModelVersion,
    double LatencyMs,
    string LatencyClass,
    string RequestId);

internal sealed record StoredReading(float? Temperature, float? Pressure, float? FlowRate);

/// <summary>A page of stored predictions, newest first; <c>next_cursor</c> (null on the last page) asks for the next.</summary>
internal sealed record PredictionPage(IReadOnlyList<StoredPredictionItem> Items, string? NextCursor);

/// <summary>
/// One group in one time bucket (buckets line up with the epoch: a 1 m bucket starts on the minute):
/// <c>group</c> holds the value of each field grouped by; <c>tool_id</c> and <c>sensor_id</c> repeat
/// theirs (null when not grouped by).
/// </summary>
internal sealed record SummaryItem(
    IReadOnlyDictionary<string, string?> Group,
    string? ToolId,
    string? SensorId,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset BucketStart,
    long Count,
    long Anomalies,
    double MeanPrediction,
    double MaxPrediction);

internal sealed record PredictionSummary(
    string Bucket,
    IReadOnlyList<string> GroupBy,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset From,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset To,
    IReadOnlyList<SummaryItem> Items,
    bool Truncated);

/// <summary>A stored wafer verdict as <c>GET /wafer-predictions</c> answers it: the image's SHA-256 stands for the image.</summary>
internal sealed record StoredWaferItem(
    long Id,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset PredictedAt,
    string Source,
    bool DefectDetected,
    string DefectType,
    float Confidence,
    IReadOnlyDictionary<string, float> ClassProbabilities,
    string ImageSha256,
    string Model,
    int ModelVersion,
    double LatencyMs,
    string LatencyClass,
    string RequestId);

/// <summary>A page of stored wafer verdicts, newest first; <c>next_cursor</c> (null on the last page) asks for the next.</summary>
internal sealed record WaferPage(IReadOnlyList<StoredWaferItem> Items, string? NextCursor);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(PredictionPage))]
[JsonSerializable(typeof(PredictionSummary))]
[JsonSerializable(typeof(WaferPage))]
[JsonSerializable(typeof(Dictionary<string, float>))]
internal sealed partial class ResultsJsonContext : JsonSerializerContext;
