using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Results.Storage;

/// <summary>One stored sensor prediction: a reading of the seed's three fields, or one with its context and any sensors.</summary>
/// <param name="Time">When the reading was taken (the client's timestamp, else its arrival).</param>
/// <param name="PredictedAt">When the server scored it: retention counts from here.</param>
/// <param name="Source">The way it came in: http, websocket, simulator.</param>
/// <param name="ToolId">The tool, when the client said.</param>
/// <param name="SensorId">The sensor, when the client said.</param>
/// <param name="Model">The model that answered.</param>
/// <param name="ModelVersion">Its version.</param>
/// <param name="Temperature">The reading's temperature; null for a reading with context (its <see cref="Values"/>).</param>
/// <param name="Pressure">The reading's pressure; null for a reading with context.</param>
/// <param name="FlowRate">The reading's flow rate; null for a reading with context.</param>
/// <param name="Score">The model's probability of an anomaly.</param>
/// <param name="IsAnomaly">The score reached the model's threshold.</param>
/// <param name="LatencyMs">From the request's arrival to the score, measured.</param>
/// <param name="Class">The latency class it was scored in.</param>
/// <param name="RequestId">The request (socket message, simulator tick) it answered.</param>
public readonly record struct PredictionRecord(
    DateTimeOffset Time,
    DateTimeOffset PredictedAt,
    string Source,
    string? ToolId,
    string? SensorId,
    string Model,
    int ModelVersion,
    float? Temperature,
    float? Pressure,
    float? FlowRate,
    float Score,
    bool IsAnomaly,
    double LatencyMs,
    LatencyClass Class,
    string RequestId)
{
    /// <summary>The reading's context beyond its tool (chamber, recipe, step, lot, wafer), when it came with one.</summary>
    public ReadingContext? Context { get; init; }

    /// <summary>A reading with context: its sensors' values, as a JSON object of names and numbers.</summary>
    public string? Values { get; init; }
}

/// <summary>One stored wafer verdict: what the model said of one image, and the image's SHA-256 (not the image).</summary>
public readonly record struct WaferRecord(
    DateTimeOffset PredictedAt,
    string Source,
    string Model,
    int ModelVersion,
    string DefectType,
    bool DefectDetected,
    float Confidence,
    string ClassProbabilities,
    string ImageSha256,
    double LatencyMs,
    LatencyClass Class,
    string RequestId);

/// <summary>A stored wafer verdict and its place in the store.</summary>
public readonly record struct StoredWafer(long Id, WaferRecord Record);

/// <summary>What <c>GET /wafer-predictions</c> asks for: newest first (by when it was scored), after <see cref="After"/> when paging on.</summary>
public sealed record WaferQuery(DateTimeOffset? From, DateTimeOffset? To, bool DefectsOnly, int Limit, PageCursor? After);

/// <summary>A stored prediction and its place in the store (the keyset pages' tie-breaker).</summary>
public readonly record struct StoredPrediction(long Id, PredictionRecord Record);

/// <summary>What <c>GET /predictions</c> asks for: newest first, after <see cref="After"/> when paging on.</summary>
public sealed record PredictionQuery(
    string? ToolId, string? SensorId, DateTimeOffset? From, DateTimeOffset? To, bool AnomaliesOnly, int Limit, PageCursor? After)
{
    /// <summary>Context fields beyond the tool the rows must have (<see cref="ReadingContext.Fields"/>: chamber_id, recipe, step, lot_id, wafer_id).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Context { get; init; } = [];

    /// <summary>The model that scored them, when asked.</summary>
    public string? Model { get; init; }
}

/// <summary>Where a page ended: the last item's reading time (microseconds since the Unix epoch) and id.</summary>
public readonly record struct PageCursor(long TimeMicroseconds, long Id)
{
    public static PageCursor After(StoredPrediction last) => new(UnixMicroseconds.From(last.Record.Time), last.Id);
}

/// <summary>How the stores keep times: whole microseconds since the Unix epoch, UTC.</summary>
public static class UnixMicroseconds
{
    public static long From(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.Ticks) / 10;

    public static DateTimeOffset ToTime(long microseconds) => DateTimeOffset.UnixEpoch.AddTicks(microseconds * 10);
}

/// <summary>Per group (the values of <see cref="SummaryQuery.GroupBy"/>, in its order) and time bucket: how many predictions, how many anomalous, and their scores.</summary>
public sealed record SummaryBucket(
    IReadOnlyList<string?> Group, DateTimeOffset BucketStart, long Count, long Anomalies, double MeanScore, double MaxScore);

/// <summary>What <c>GET /predictions/summary</c> asks for: at most <see cref="Limit"/> buckets, in group and time order.</summary>
public sealed record SummaryQuery(string? ToolId, DateTimeOffset From, DateTimeOffset To, TimeSpan Bucket, int Limit = SummaryQuery.MaxItems)
{
    /// <summary>Most buckets one answer holds, whatever the number of tools and sensors stored.</summary>
    public const int MaxItems = 10_000;

    /// <summary>What a bucket can be grouped by: the context fields, the sensor and the model.</summary>
    public static IReadOnlyList<string> Groupings { get; } = [.. ReadingContext.Fields, "sensor_id", "model"];

    /// <summary>The columns buckets are grouped by, each one of <see cref="Groupings"/>: by default the tool and the sensor.</summary>
    public IReadOnlyList<string> GroupBy { get; init; } = ["tool_id", "sensor_id"];

    /// <summary>Context fields beyond the tool the rows must have, as for <see cref="PredictionQuery.Context"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Context { get; init; } = [];
}
