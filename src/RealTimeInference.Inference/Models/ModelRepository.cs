using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Onnx;

namespace RealTimeInference.Inference.Models;

/// <summary>
/// The models under <see cref="InferenceOptions.ModelsPath"/>: a folder per model with its
/// model.json, a numbered folder per version holding model.onnx; the highest version serves.
/// </summary>
public sealed partial class ModelRepository(
    IOptions<InferenceOptions> options,
    TimeProvider time,
    InferenceMetrics metrics,
    ILogger<ModelRepository> logger) : IAsyncDisposable
{
    public const string OnnxFileName = "model.onnx";

    private volatile FrozenDictionary<string, ServedModel> _models = FrozenDictionary<string, ServedModel>.Empty;
    private volatile bool _draining;
    private int _disposed;

    /// <summary>Models loaded and not shutting down.</summary>
    public bool IsReady => _models.Count > 0 && !_draining;

    public bool IsDraining => _draining;

    public IReadOnlyCollection<ServedModel> Models => _models.Values;

    public bool TryGet(string name, [NotNullWhen(true)] out ServedModel? model) => _models.TryGetValue(name, out model);

    /// <summary>Loads every model folder; one that fails is logged and skipped so the others still serve.</summary>
    public void LoadAll()
    {
        var root = options.Value.ResolveModelsPath();
        var loaded = new Dictionary<string, ServedModel>(StringComparer.Ordinal);
        if (!Directory.Exists(root))
        {
            LogNoModelsFolder(logger, root);
        }
        else
        {
            foreach (var folder in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
            {
                if (TryLoad(folder) is { } model)
                {
                    loaded[model.Name] = model;
                }
            }
        }

        _models = loaded.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Readiness fails and new work is refused from now on; queued work still runs.</summary>
    public void BeginDrain() => _draining = true;

    /// <summary>
    /// Stops taking work, answers everything already queued, then frees the sessions. Both the
    /// loader (at host stop) and the container call it; only the first call acts.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _draining = true;
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        foreach (var model in _models.Values)
        {
            await model.DisposeAsync().ConfigureAwait(false);
        }
    }

    private ServedModel? TryLoad(string folder)
    {
        var manifestPath = Path.Combine(folder, ModelManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            return null;
        }

        try
        {
            var manifest = ModelManifest.Load(manifestPath);
            var versions = Directory.EnumerateDirectories(folder)
                .Select(dir => int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1)
                .Where(v => v > 0 && File.Exists(Path.Combine(folder, v.ToString(CultureInfo.InvariantCulture), OnnxFileName)))
                .Order()
                .ToArray();
            var version = versions.Length > 0 ? versions[^1] : -1;
            if (version < 0)
            {
                throw new InvalidDataException($"{folder} has no numbered version folder with {OnnxFileName}.");
            }

            var scorer = new OnnxScorer(Path.Combine(folder, version.ToString(CultureInfo.InvariantCulture), OnnxFileName), manifest);
            var batching = manifest.Batching;
            var batcher = new MicroBatcher(
                manifest.Name,
                scorer,
                batching.MaxBatchSize,
                batching.QueueCapacity,
                TimeSpan.FromMilliseconds(batching.MaxQueueDelayMs),
                time,
                metrics,
                logger);
            LogModelLoaded(logger, manifest.Name, version, manifest.Input.Features.Count, batching.MaxBatchSize);
            return new ServedModel(manifest.Name, version, versions, manifest, scorer, batcher);
        }
#pragma warning disable CA1031 // One bad model folder must not keep the others from serving.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogModelLoadFailed(logger, ex, folder);
            return null;
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Loaded model {Model} version {Version}: {Features} features, batches of up to {MaxBatchSize} rows")]
    private static partial void LogModelLoaded(ILogger logger, string model, int version, int features, int maxBatchSize);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Could not load the model in {Folder}; it is not served")]
    private static partial void LogModelLoadFailed(ILogger logger, Exception exception, string folder);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Models folder {Folder} does not exist; no model is served")]
    private static partial void LogNoModelsFolder(ILogger logger, string folder);
}
