using System.Text.Json;
using HdrHistogram;
using RealTimeInference.LoadTest.Reporting;

namespace RealTimeInference.LoadTest.Http;

/// <summary>
/// Collects the server's own per-request breakdown (<c>timings</c> in /predict-wafer answers):
/// decode and preprocess, queue, and inference, so the report separates them from the round trip.
/// </summary>
internal sealed class ServerTimings
{
    private const long HighestMicros = 60_000_000;

    private readonly Lock _lock = new();
    private readonly LongHistogram _preprocess = new(HighestMicros, 3);
    private readonly LongHistogram _queue = new(HighestMicros, 3);
    private readonly LongHistogram _inference = new(HighestMicros, 3);
    private long _batchImages;

    /// <summary>Reads <c>timings</c> from a 2xx JSON answer; answers without it are ignored.</summary>
    public void Record(ReadOnlySpan<byte> json)
    {
        double preprocess, queue, inference;
        int batch;
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            if (!document.RootElement.TryGetProperty("timings", out var timings))
            {
                return;
            }

            preprocess = timings.GetProperty("preprocess_ms").GetDouble();
            queue = timings.GetProperty("queue_ms").GetDouble();
            inference = timings.GetProperty("inference_ms").GetDouble();
            batch = timings.GetProperty("batch_images").GetInt32();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return;
        }

        lock (_lock)
        {
            _preprocess.RecordValue(Micros(preprocess));
            _queue.RecordValue(Micros(queue));
            _inference.RecordValue(Micros(inference));
            _batchImages += batch;
        }
    }

    public ServerTimingSummary Summary()
    {
        lock (_lock)
        {
            var count = _preprocess.TotalCount;
            return new ServerTimingSummary(
                LatencySummary.FromMicroseconds(_preprocess),
                LatencySummary.FromMicroseconds(_queue),
                LatencySummary.FromMicroseconds(_inference),
                count == 0 ? 0 : Math.Round((double)_batchImages / count, 2));
        }
    }

    private static long Micros(double ms) => Math.Clamp((long)Math.Round(ms * 1000), 0, HighestMicros);
}
