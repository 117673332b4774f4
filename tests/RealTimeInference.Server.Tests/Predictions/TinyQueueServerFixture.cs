using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace RealTimeInference.Server.Tests.Predictions;

/// <summary>
/// A server whose model queue holds one row and whose batcher holds a batch open for a minute
/// of fake time: the first request waits in the queue until the test advances the clock, so the
/// queue is full on purpose, deterministically.
/// </summary>
public sealed class TinyQueueServerFixture : ServerFixture
{
    public TinyQueueServerFixture()
    {
        ModelsPath = Path.Combine(Path.GetTempPath(), "rti-tiny-" + Guid.NewGuid().ToString("N"));
        var bundled = Path.Combine(AppContext.BaseDirectory, "models", "sensor-anomaly");
        var target = Path.Combine(ModelsPath, "sensor-anomaly");
        Directory.CreateDirectory(Path.Combine(target, "1"));
        File.Copy(Path.Combine(bundled, "1", "model.onnx"), Path.Combine(target, "1", "model.onnx"));
        var manifest = File.ReadAllText(Path.Combine(bundled, "model.json"))
            .Replace("\"queue_capacity\": 8192", "\"queue_capacity\": 1", StringComparison.Ordinal)
            .Replace("\"max_batch_size\": 256", "\"max_batch_size\": 2", StringComparison.Ordinal)
            .Replace("\"max_queue_delay_ms\": 0", "\"max_queue_delay_ms\": 60000", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(target, "model.json"), manifest);
    }

    public FakeTimeProvider Time { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Prediction:RetryAfterSeconds", "3")];

    protected override void ConfigureTestServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Time);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        // The factory disposes through both Dispose and DisposeAsync.
        if (ModelsPath is not null && Directory.Exists(ModelsPath))
        {
            Directory.Delete(ModelsPath, recursive: true);
        }
    }
}
