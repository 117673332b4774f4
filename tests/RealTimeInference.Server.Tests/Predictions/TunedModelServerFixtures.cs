using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Server.Tests.Predictions;

/// <summary>
/// A server over a copy of the bundled sensor model whose model.json is edited (queue, batch,
/// admission), whose model runs the test can hold at a gate, so overload happens on purpose and in
/// a known order. Its clock is fake and never moves: no deadline passes while a test holds the model.
/// </summary>
public abstract class TunedModelServerFixture : HookedScorerServerFixture
{
    private readonly ManualResetEventSlim _gate = new(initialState: true);
    private readonly SemaphoreSlim _started = new(0);
    private MetricCollector<long>? _queued;

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

    /// <summary>The temperature of every row the model scored, in the order it scored them.</summary>
    public ConcurrentQueue<float> Scored { get; } = new();

    /// <summary>Model runs from now on wait at the gate until <see cref="Release"/>; <see cref="WaitForRunAsync"/> waits for the next one.</summary>
    public void Hold()
    {
        _gate.Reset();
        while (_started.Wait(0))
        {
            // Runs started before: not the one a test waits for.
        }
    }

    public void Release() => _gate.Set();

    /// <summary>Waits until a model run has started (and waits at the gate, if held).</summary>
    public async Task WaitForRunAsync() => Assert.True(await _started.WaitAsync(TimeSpan.FromSeconds(10)), "No model run started.");

    /// <summary>
    /// Waits until the model's queue holds <paramref name="rows"/> rows, awaiting each change of the
    /// queued-rows gauge (the sum of its changes since the fixture's first test began).
    /// </summary>
    public async Task WaitForQueuedAsync(long rows)
    {
        var queued = _queued ??= new MetricCollector<long>(Services.GetRequiredService<IMeterFactory>(), InferenceMetrics.MeterName, "queued_rows");
        while (true)
        {
            var changes = queued.GetMeasurementSnapshot();
            if (changes.Sum(m => m.Value) == rows)
            {
                return;
            }

            await queued.WaitForMeasurementsAsync(changes.Count + 1, TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Starts measuring the queue: call before the test's first request.</summary>
    public Task StartAsync() => WaitForQueuedAsync(0);

    protected override void ConfigureTestServices(IServiceCollection services)
    {
        base.ConfigureTestServices(services);
        services.AddSingleton<TimeProvider>(Time);
    }

    protected override void BeforeRun(string model, ReadOnlySpan<float> features, int rows)
    {
        for (var row = 0; row < rows; row++)
        {
            Scored.Enqueue(features[row * (features.Length / rows)]);
        }

        _started.Release();
        Assert.True(_gate.Wait(TimeSpan.FromSeconds(10)), "The model was held for more than 10 s.");
    }

    protected override void Dispose(bool disposing)
    {
        _gate.Set();
        base.Dispose(disposing);
        _queued?.Dispose();
        // The factory disposes through both Dispose and DisposeAsync.
        if (ModelsPath is not null && Directory.Exists(ModelsPath))
        {
            Directory.Delete(ModelsPath, recursive: true);
        }
    }
}

/// <summary>One queued row fills the queue; a full queue refuses (buffer).</summary>
public sealed class TinyQueueServerFixture() : TunedModelServerFixture(
    ("\"queue_capacity\": 8192", "\"queue_capacity\": 1"),
    ("\"max_batch_size\": 256", "\"max_batch_size\": 2"),
    ("\"admission\": \"shed-oldest\"", "\"admission\": \"buffer\""))
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Prediction:RetryAfterSeconds", "3")];
}

/// <summary>Four queued rows fill the queue; batches of two; a full queue sheds the oldest least-urgent work.</summary>
public sealed class SheddingServerFixture() : TunedModelServerFixture(
    ("\"queue_capacity\": 8192", "\"queue_capacity\": 4"),
    ("\"max_batch_size\": 256", "\"max_batch_size\": 2"));

/// <summary><see cref="SheddingServerFixture"/>'s model, with two API keys: two clients that share its queue.</summary>
public sealed class TwoClientsServerFixture() : TunedModelServerFixture(
    ("\"queue_capacity\": 8192", "\"queue_capacity\": 4"),
    ("\"max_batch_size\": 256", "\"max_batch_size\": 2"))
{
    public const string FloodKey = "flood-key-0123456789";
    public const string LightKey = "light-key-0123456789";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Security:ApiKeys:0:Key", FloodKey), new("Security:ApiKeys:0:Role", "ingest"), new("Security:ApiKeys:1:Key", LightKey), new("Security:ApiKeys:1:Role", "ingest")];
}
