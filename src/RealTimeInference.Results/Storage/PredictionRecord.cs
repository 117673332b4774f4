using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Results.Storage;

/// <summary>One stored sensor prediction.</summary>
/// <param name="Time">When the reading was taken (the client's timestamp, else its arrival).</param>
/// <param name="PredictedAt">When the server scored it: retention counts from here.</param>
/// <param name="Source">The way it came in: http, websocket, simulator.</param>
/// <param name="ToolId">The tool, when the client said.</param>
/// <param name="SensorId">The sensor, when the client said.</param>
/// <param name="Model">The model that answered.</param>
/// <param name="ModelVersion">Its version.</param>
/// <param name="Temperature">The reading's temperature.</param>
/// <param name="Pressure">The reading's pressure.</param>
/// <param name="FlowRate">The reading's flow rate.</param>
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
    float Temperature,
    float Pressure,
    float FlowRate,
    float Score,
    bool IsAnomaly,
    double LatencyMs,
    LatencyClass Class,
    string RequestId);

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
    string? ToolId, string? SensorId, DateTimeOffset? From, DateTimeOffset? To, bool AnomaliesOnly, int Limit, PageCursor? After);

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

/// <summary>Per tool, sensor and time bucket: how many predictions, how many anomalous, and their scores.</summary>
public sealed record SummaryBucket(
    string? ToolId, string? SensorId, DateTimeOffset BucketStart, long Count, long Anomalies, double MeanScore, double MaxScore);

/// <summary>What <c>GET /predictions/summary</c> asks for: at most <see cref="Limit"/> buckets, in tool, sensor and time order.</summary>
public sealed record SummaryQuery(string? ToolId, DateTimeOffset From, DateTimeOffset To, TimeSpan Bucket, int Limit = SummaryQuery.MaxItems)
{
    /// <summary>Most buckets one answer holds, whatever the number of tools and sensors stored.</summary>
    public const int MaxItems = 10_000;
}
