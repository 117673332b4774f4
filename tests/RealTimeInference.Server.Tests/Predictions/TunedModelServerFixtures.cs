using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace RealTimeInference.Server.Tests.Predictions;

/// <summary>
/// A server over a copy of the bundled sensor model whose model.json is edited (queue, batch,
/// admission), with a fake clock: queued work waits until the test moves time, so overload
/// happens on purpose, deterministically.
/// </summary>
public abstract class TunedModelServerFixture : ServerFixture
{
    protected TunedModelServerFixture(params (string Bundled, string Tuned)[] edits)
    {
        ModelsPath = Path.Combine(Path.GetTempPath(), "rti-tuned-" + Guid.NewGuid().ToString("N"));
        var bundled = Path.Combine(AppContext.BaseDirectory, "models", "sensor-anomaly");
        var target = Path.Combine(ModelsPath, "sensor-anomaly");
        Directory.CreateDirectory(Path.Combine(target, "1"));
        File.Copy(Path.Combine(bundled, "1", "model.onnx"), Path.Combine(target, "1", "model.onnx"));
        var manifest = File.ReadAllText(Path.Combine(bundled, "model.json"));
        foreach (var (from, to) in edits)
        {
            Assert.Contains(from, manifest, StringComparison.Ordinal);
            manifest = manifest.Replace(from, to, StringComparison.Ordinal);
        }

        File.WriteAllText(Path.Combine(target, "model.json"), manifest);
    }

    public FakeTimeProvider Time { get; } = new();

    protected override void ConfigureTestServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Time);

    /// <summary>
    /// Moves the fake clock a step at a time until <paramref name="task"/> completes, giving the
    /// server up to a second of real time to act on each step before the next one.
    /// </summary>
    public async Task AdvanceUntilAsync(Task task, TimeSpan step)
    {
        for (var i = 0; i < 10 && !task.IsCompleted; i++)
        {
            Time.Advance(step);
            await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(1)));
        }

        await task.WaitAsync(TimeSpan.FromSeconds(10));
    }

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

/// <summary>One queued row fills the queue; batches are held open 100 ms; a full queue refuses (buffer).</summary>
public sealed class TinyQueueServerFixture() : TunedModelServerFixture(
    ("\"queue_capacity\": 8192", "\"queue_capacity\": 1"),
    ("\"max_batch_size\": 256", "\"max_batch_size\": 2"),
    ("\"max_queue_delay_ms\": 0", "\"max_queue_delay_ms\": 100"),
    ("\"admission\": \"shed-oldest\"", "\"admission\": \"buffer\""))
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Prediction:RetryAfterSeconds", "3")];
}

/// <summary>Four queued rows fill the queue; batches of two are held open 50 ms; a full queue sheds the oldest least-urgent work.</summary>
public sealed class SheddingServerFixture() : TunedModelServerFixture(
    ("\"queue_capacity\": 8192", "\"queue_capacity\": 4"),
    ("\"max_batch_size\": 256", "\"max_batch_size\": 2"),
    ("\"max_queue_delay_ms\": 0", "\"max_queue_delay_ms\": 50"));
