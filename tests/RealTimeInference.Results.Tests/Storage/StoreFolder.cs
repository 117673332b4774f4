using Microsoft.Data.Sqlite;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Storage;

namespace RealTimeInference.Results.Tests.Storage;

/// <summary>A temporary folder for a test's SQLite file, deleted after; and rows to write into it.</summary>
internal sealed class StoreFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rti-results-test-" + Guid.NewGuid().ToString("N"));

    public string File => System.IO.Path.Combine(Path, "results.db");

    public static readonly DateTimeOffset T0 = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);

    public static PredictionRecord Row(
        string? tool = "tool-1", string? sensor = "s1", DateTimeOffset? time = null, float score = 0.1f, bool anomaly = false, DateTimeOffset? predictedAt = null, string request = "r") =>
        new(time ?? T0, predictedAt ?? T0, "http", tool, sensor, "sensor-anomaly", 1, 350, 1013, 100, score, anomaly, 1.5, LatencyClass.ProcessControl, request);

    public static RecordChunk Chunk(params PredictionRecord[] rows) => new(rows, rows.Length, pooled: false);

    /// <summary>The rows of broker message <paramref name="messageId"/>, one a reading.</summary>
    public static RecordChunk MessageChunk(string messageId, params PredictionRecord[] rows) => new(rows, rows.Length, pooled: false) { MessageId = messageId };

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
