using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Onnx;
using RealTimeInference.Inference.Resilience;

namespace RealTimeInference.Inference.Models;

/// <summary>
/// The models under <see cref="InferenceOptions.ModelsPath"/>: a folder per model with its
/// model.json, a numbered folder per version holding model.onnx; the highest version serves.
/// </summary>
public sealed partial class ModelRepository(
    IOptions<InferenceOptions> options,
    TimeProvider time,
    InferenceMetrics metrics,
    PredictionCache cache,
    IScorerFactory scorers,
    ILogger<ModelRepository> logger,
    ModelBreakers? breakers = null,
    IEnumerable<IModelCheck>? checks = null) : IAsyncDisposable
{
    public const string OnnxFileName = "model.onnx";

    private volatile FrozenDictionary<string, ServedModel> _models = FrozenDictionary<string, ServedModel>.Empty;
    private volatile bool _draining;
    private int _disposed;
    private readonly SemaphoreSlim _reloads = new(1, 1);
    private readonly IModelCheck[] _checks = checks?.ToArray() ?? [];

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

    /// <summary>
    /// Loads a model's folder again — its highest version, warmed up and checked against model.json —
    /// and swaps it in atomically. Requests already queued on the old version finish there. A model
    /// that fails to load leaves the old one serving.
    /// </summary>
    public async Task<ModelReload> ReloadAsync(string name)
    {
        await _reloads.WaitAsync().ConfigureAwait(false);
        try
        {
            TryGet(name, out var current);
            var folder = Path.Combine(options.Value.ResolveModelsPath(), name);
            ServedModel fresh;
            try
            {
                fresh = Load(folder);
            }
#pragma warning disable CA1031 // A bad new version is an answer: the old one keeps serving.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                metrics.RecordReload(name, succeeded: false);
                LogReloadFailed(logger, ex, name, current?.Version);
                return new ModelReload(false, current?.Version, WithoutServerPaths(ex.Message));
            }

            if (fresh.Name != name)
            {
                await fresh.DisposeAsync().ConfigureAwait(false);
                metrics.RecordReload(name, succeeded: false);
                return new ModelReload(false, current?.Version, $"{name}/{ModelManifest.FileName} names '{fresh.Name}', not '{name}'.");
            }

            _models = _models.Where(m => m.Key != name).Append(new(name, fresh)).ToFrozenDictionary(StringComparer.Ordinal);
            // The same version number may now hold other bytes: no cached score may outlive the swap.
            cache.Clear(name);
            metrics.RecordReload(name, succeeded: true);
            LogReloaded(logger, name, fresh.Version, current?.Version);
            if (current is not null)
            {
                await current.DisposeAsync().ConfigureAwait(false);
            }

            return new ModelReload(true, fresh.Version, null);
        }
        finally
        {
            _reloads.Release();
        }
    }

    /// <summary>Readiness fails and new work is refused from now on; queued work still runs, held batches at once.</summary>
    public void BeginDrain()
    {
        _draining = true;
        foreach (var model in _models.Values)
        {
            model.Batcher.ReleaseHeldBatches();
        }
    }

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
        if (!File.Exists(Path.Combine(folder, ModelManifest.FileName)))
        {
            return null;
        }

        try
        {
            return Load(folder);
        }
#pragma warning disable CA1031 // One bad model folder must not keep the others from serving.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogModelLoadFailed(logger, ex, folder);
            return null;
        }
    }

    private ServedModel Load(string folder)
    {
        var manifest = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
        foreach (var check in _checks)
        {
            if (check.Check(manifest) is { } problem)
            {
                throw new InvalidDataException($"{Path.GetFileName(folder)}/{ModelManifest.FileName}: {problem}");
            }
        }
        var versions = Directory.EnumerateDirectories(folder)
            .Select(dir => int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1)
            .Where(v => v > 0 && File.Exists(Path.Combine(folder, v.ToString(CultureInfo.InvariantCulture), OnnxFileName)))
            .Order()
            .ToArray();
        if (versions.Length == 0)
        {
            throw new InvalidDataException($"{folder} has no numbered version folder with {OnnxFileName}.");
        }

        var version = versions[^1];
        var scorer = scorers.Create(Path.Combine(folder, version.ToString(CultureInfo.InvariantCulture), OnnxFileName), manifest);
        var batching = manifest.Batching;
        var batcher = new MicroBatcher(
            manifest.Name,
            scorer,
            batching.MaxBatchSize,
            batching.QueueCapacity,
            TimeSpan.FromMilliseconds(batching.MaxQueueDelayMs),
            time,
            metrics,
            logger,
            batching.ToAdmission(),
            breakers?.For(manifest.Name));
        LogModelLoaded(logger, manifest.Name, version, manifest.InputLength, batching.MaxBatchSize);
        return new ServedModel(manifest.Name, version, versions, manifest, scorer, batcher);
    }

    /// <summary>An answer may name a model's files, never where the server keeps them.</summary>
    private string WithoutServerPaths(string message) =>
        message.Replace(options.Value.ResolveModelsPath() + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)
            .Replace(options.Value.ResolveModelsPath(), "models", StringComparison.Ordinal);

    [LoggerMessage(EventId = LogEvents.ModelLoaded, Level = LogLevel.Information, Message = "Loaded model {Model} version {Version}: {Features} features, batches of up to {MaxBatchSize} rows")]
    private static partial void LogModelLoaded(ILogger logger, string model, int version, int features, int maxBatchSize);

    [LoggerMessage(EventId = LogEvents.ModelLoadFailed, Level = LogLevel.Error, Message = "Could not load the model in {Folder}; it is not served")]
    private static partial void LogModelLoadFailed(ILogger logger, Exception exception, string folder);

    [LoggerMessage(EventId = LogEvents.ModelReloaded, Level = LogLevel.Information, Message = "Reloaded model {Model}: version {Version} serves (was {Previous})")]
    private static partial void LogReloaded(ILogger logger, string model, int version, int? previous);

    [LoggerMessage(EventId = LogEvents.ModelReloadFailed, Level = LogLevel.Error, Message = "Reload of model {Model} failed; version {Serving} keeps serving")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception, string model, int? serving);

    [LoggerMessage(EventId = LogEvents.NoModelsFolder, Level = LogLevel.Warning, Message = "Models folder {Folder} does not exist; no model is served")]
    private static partial void LogNoModelsFolder(ILogger logger, string folder);
}

/// <summary>What a reload did: whether the new files serve, and which version serves now (null: none).</summary>
public sealed record ModelReload(bool Succeeded, int? ServingVersion, string? Error);
