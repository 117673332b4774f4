using System.Collections.Concurrent;
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
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Inference.Models;

/// <summary>
/// The models under <see cref="InferenceOptions.ModelsPath"/>: a folder per model, a numbered
/// folder per version holding model.onnx, and optionally model.json (without one, the model's
/// configuration comes from its ONNX signature). The highest version the version policy serves
/// answers requests that name none. Models load at start, or on first use
/// (<see cref="InferenceOptions.LoadOnFirstUse"/>), within <see cref="InferenceOptions.MaxLoadedModels"/>
/// (least recently used unloaded first), and by <see cref="LoadAsync(string)"/>/<see cref="UnloadAsync"/>.
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
    private readonly ConcurrentDictionary<string, string> _failures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lastUsed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _unloaded = new(StringComparer.Ordinal);
    private bool _tracksUse;

    /// <summary>Models loaded (or, loading on first use, a repository to load them from) and not shutting down.</summary>
    public bool IsReady => (_models.Count > 0 || (options.Value.LoadOnFirstUse && Directory.Exists(options.Value.ResolveModelsPath()))) && !_draining;

    public bool IsDraining => _draining;

    public IReadOnlyCollection<ServedModel> Models => _models.Values;

    /// <summary>A loaded model by name; a lookup counts as a use for least-recently-used unloading.</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out ServedModel? model)
    {
        if (!_models.TryGetValue(name, out model))
        {
            return false;
        }

        if (_tracksUse)
        {
            _lastUsed[name] = time.GetTimestamp();
        }

        return true;
    }

    /// <summary>
    /// A model by name, loading it first when <see cref="InferenceOptions.LoadOnFirstUse"/> and its
    /// folder exists (unless it was unloaded explicitly, or its last load failed and its files have
    /// not changed since); null when it is not served.
    /// </summary>
    public async ValueTask<ServedModel?> FindAsync(string name)
    {
        if (TryGet(name, out var model))
        {
            return model;
        }

        if (!options.Value.LoadOnFirstUse || _draining || _unloaded.ContainsKey(name) || !IsModelFolderName(name)
            || !Directory.Exists(Path.Combine(options.Value.ResolveModelsPath(), name)))
        {
            return null;
        }

        await LoadAsync(name, LoadReason.FirstUse).ConfigureAwait(false);
        return TryGet(name, out model) ? model : null;
    }

    /// <summary>Every model folder in the repository, loaded or not, with its state (Triton's repository index).</summary>
    public IReadOnlyList<RepositoryEntry> Index()
    {
        var root = options.Value.ResolveModelsPath();
        var names = Directory.Exists(root)
            ? Directory.EnumerateDirectories(root).Select(Path.GetFileName).OfType<string>().Where(IsModel)
            : [];
        return [.. names.Union(_models.Keys).Order(StringComparer.Ordinal).Select(name =>
            _models.TryGetValue(name, out var model) ? new RepositoryEntry(name, model.Version, RepositoryEntry.Ready, null)
            : _failures.TryGetValue(name, out var reason) ? new RepositoryEntry(name, null, RepositoryEntry.Unavailable, reason)
            : new RepositoryEntry(name, null, RepositoryEntry.Unavailable, _unloaded.ContainsKey(name) ? "unloaded" : "not loaded"))];
    }

    /// <summary>
    /// Loads (or loads again) a model's folder and swaps it in; the next request gets it. A load that
    /// fails leaves what was serving serving. Names that are no folder of the repository fail.
    /// </summary>
    public Task<ModelReload> LoadAsync(string name) => LoadAsync(name, LoadReason.Explicit);

    /// <summary>Stops serving a model: new requests for it are 404, those queued are answered, then its sessions are freed.</summary>
    public async Task<bool> UnloadAsync(string name)
    {
        await _reloads.WaitAsync().ConfigureAwait(false);
        try
        {
            _unloaded[name] = 0;
            return await RemoveAsync(name, "explicit").ConfigureAwait(false);
        }
        finally
        {
            _reloads.Release();
        }
    }

    /// <summary>
    /// Loads every model folder (none with <see cref="InferenceOptions.LoadOnFirstUse"/>; at most
    /// <see cref="InferenceOptions.MaxLoadedModels"/>); one that fails is logged and skipped so the others still serve.
    /// </summary>
    public void LoadAll()
    {
        _tracksUse = options.Value.MaxLoadedModels > 0;
        metrics.TrackLoaded(() => _models.Count);
        var root = options.Value.ResolveModelsPath();
        var loaded = new Dictionary<string, ServedModel>(StringComparer.Ordinal);
        if (!Directory.Exists(root))
        {
            LogNoModelsFolder(logger, root);
        }
        else
        {
            var limit = options.Value.MaxLoadedModels is > 0 and var max ? max : int.MaxValue;
            foreach (var folder in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
            {
                if (options.Value.LoadOnFirstUse || loaded.Count >= limit)
                {
                    break;
                }

                if (TryLoad(folder) is { } model)
                {
                    loaded[model.Name] = model;
                    _lastUsed[model.Name] = time.GetTimestamp();
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
    public Task<ModelReload> ReloadAsync(string name) => LoadAsync(name, LoadReason.Reload);

    private async Task<ModelReload> LoadAsync(string name, LoadReason reason)
    {
        await _reloads.WaitAsync().ConfigureAwait(false);
        try
        {
            _models.TryGetValue(name, out var current);
            if (reason == LoadReason.FirstUse && current is not null)
            {
                // Another first request loaded it while this one waited.
                return new ModelReload(true, current.Version, null);
            }

            var folder = Path.Combine(options.Value.ResolveModelsPath(), name);
            if (!IsModelFolderName(name) || !Directory.Exists(folder))
            {
                // A made-up name never reaches a metric label.
                return new ModelReload(false, current?.Version, $"The repository has no model folder '{name}'.");
            }

            var started = time.GetTimestamp();
            ServedModel fresh;
            try
            {
                fresh = Load(folder);
                if (fresh.Name != name)
                {
                    await fresh.DisposeAsync().ConfigureAwait(false);
                    throw new InvalidDataException($"{name}/{ModelManifest.FileName} names '{fresh.Name}', not '{name}'.");
                }
            }
#pragma warning disable CA1031 // A bad new version is an answer: the old one keeps serving.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Record(name, reason, succeeded: false, started);
                var message = WithoutServerPaths(ex.Message);
                _failures[name] = message;
                LogReloadFailed(logger, ex, name, current?.Version);
                return new ModelReload(false, current?.Version, message);
            }

            _models = _models.Where(m => m.Key != name).Append(new(name, fresh)).ToFrozenDictionary(StringComparer.Ordinal);
            _failures.TryRemove(name, out _);
            _unloaded.TryRemove(name, out _);
            _lastUsed[name] = time.GetTimestamp();
            // The same version number may now hold other bytes: no cached score may outlive the swap.
            cache.Clear(name);
            Record(name, reason, succeeded: true, started);
            LogReloaded(logger, name, fresh.Version, current?.Version);
            if (current is not null)
            {
                await current.DisposeAsync().ConfigureAwait(false);
            }

            await EvictAsync(keep: name).ConfigureAwait(false);
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

    private void Record(string name, LoadReason reason, bool succeeded, long started)
    {
        if (reason == LoadReason.Reload)
        {
            metrics.RecordReload(name, succeeded);
        }
        else
        {
            metrics.RecordLoad(name, reason == LoadReason.FirstUse ? "first_use" : "explicit", succeeded, time.GetElapsedTime(started));
        }
    }

    /// <summary>Unloads the least recently used models until at most <see cref="InferenceOptions.MaxLoadedModels"/> are loaded; never <paramref name="keep"/>.</summary>
    private async Task EvictAsync(string keep)
    {
        var max = options.Value.MaxLoadedModels;
        while (max > 0 && _models.Count > max)
        {
            var victim = _models.Keys.Where(k => k != keep).MinBy(k => _lastUsed.GetValueOrDefault(k));
            if (victim is null)
            {
                return;
            }

            LogEvicted(logger, victim, max);
            await RemoveAsync(victim, "lru").ConfigureAwait(false);
        }
    }

    private async Task<bool> RemoveAsync(string name, string reason)
    {
        if (!_models.TryGetValue(name, out var model))
        {
            return false;
        }

        _models = _models.Where(m => m.Key != name).ToFrozenDictionary(StringComparer.Ordinal);
        _lastUsed.TryRemove(name, out _);
        cache.Clear(name);
        metrics.RecordUnload(name, reason);
        // Work already queued is answered before the sessions are freed.
        await model.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>A folder of the repository holds a model when it has model.json or a numbered version folder with model.onnx.</summary>
    private bool IsModel(string name)
    {
        var folder = Path.Combine(options.Value.ResolveModelsPath(), name);
        return File.Exists(Path.Combine(folder, ModelManifest.FileName)) || FindVersions(folder).Length > 0;
    }

    /// <summary>A name that can only be one folder directly under the repository: no separators, no "..".</summary>
    private static bool IsModelFolderName(string name) =>
        name.Length is > 0 and <= 255 && name is not ("." or "..") && name.IndexOfAny([.. Path.GetInvalidFileNameChars(), '/', '\\']) < 0;

    private static int[] FindVersions(string folder) =>
        !Directory.Exists(folder) ? []
        : [.. Directory.EnumerateDirectories(folder)
            .Select(dir => int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1)
            .Where(v => v > 0 && File.Exists(Path.Combine(folder, v.ToString(CultureInfo.InvariantCulture), OnnxFileName)))
            .Order()];

    private ServedModel? TryLoad(string folder)
    {
        if (!IsModel(Path.GetFileName(folder)))
        {
            return null;
        }

        var started = time.GetTimestamp();
        try
        {
            var model = Load(folder);
            metrics.RecordLoad(model.Name, "startup", succeeded: true, time.GetElapsedTime(started));
            return model;
        }
#pragma warning disable CA1031 // One bad model folder must not keep the others from serving.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var name = Path.GetFileName(folder);
            metrics.RecordLoad(name, "startup", succeeded: false, time.GetElapsedTime(started));
            _failures[name] = WithoutServerPaths(ex.Message);
            LogModelLoadFailed(logger, ex, folder);
            return null;
        }
    }

    /// <summary>Every version the model's policy serves, the highest answering requests that name none.</summary>
    private ServedModel Load(string folder)
    {
        var folderName = Path.GetFileName(folder);
        var manifestPath = Path.Combine(folder, ModelManifest.FileName);
        var written = File.Exists(manifestPath) ? ModelManifest.Read(manifestPath) : null;
        var versions = FindVersions(folder);
        if (versions.Length == 0)
        {
            throw new InvalidDataException($"{folder} has no numbered version folder with {OnnxFileName}.");
        }

        var serve = (written?.VersionPolicy ?? DefaultPolicy).Select(versions);
        if (serve.Count == 0)
        {
            throw new InvalidDataException($"{folderName}/{ModelManifest.FileName}: version_policy serves none of the versions found ({string.Join(", ", versions)}).");
        }

        // The highest holds the others: one entry, one name, every version its policy serves.
        var others = new List<ServedModel>();
        try
        {
            foreach (var version in serve.Take(serve.Count - 1).Reverse())
            {
                others.Add(LoadVersion(folder, folderName, written, version, versions, []));
            }

            return LoadVersion(folder, folderName, written, serve[^1], versions, others);
        }
        catch
        {
            foreach (var model in others)
            {
                model.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            throw;
        }
    }

    private static readonly VersionPolicy DefaultPolicy = new(Latest: new LatestVersions(1));

    private ServedModel LoadVersion(string folder, string folderName, ModelManifest? written, int version, int[] versions, IReadOnlyList<ServedModel> others)
    {
        var scorer = scorers.Create(Path.Combine(folder, version.ToString(CultureInfo.InvariantCulture), OnnxFileName), written);
        try
        {
            var signature = scorer.Signature ?? SignatureOf(written)
                ?? throw new InvalidDataException($"{folderName}: the scorer has no signature and model.json names no input and output.");
            var manifest = (written ?? new ModelManifest()).Complete(folderName, signature, out var errors);
            var source = written is null ? $"{folderName}/{version}/{OnnxFileName}" : $"{folderName}/{ModelManifest.FileName}";
            if (errors.Count > 0)
            {
                throw new InvalidDataException($"{source}: invalid model configuration: {string.Join("; ", errors)}");
            }

            foreach (var check in _checks)
            {
                if (check.Check(manifest) is { } problem)
                {
                    throw new InvalidDataException($"{source}: {problem}");
                }
            }

            // The first run allocates ORT's kernels and arenas: pay for it before traffic does.
            scorer.WarmUp(WarmupSamples(manifest, signature), [.. signature.Outputs.Select(o => o.Name)]);
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
                breakers?.For(manifest.Name),
                new BatchShape(signature.CanConcatenate, batching.HoldUntilRows, batching.DefaultQueuePolicy?.DelaysExpired ?? false));
            LogModelLoaded(logger, manifest.Name, version, signature.Inputs.Count, signature.Outputs.Count, batching.MaxBatchSize);
            return new ServedModel(manifest.Name, version, versions, manifest, scorer, batcher, signature) { OtherVersions = others };
        }
        catch
        {
            scorer.Dispose();
            throw;
        }
    }

    /// <summary>The signature model.json declares, for a scorer that has none of its own (one FP32 input and output).</summary>
    private static ModelSignature? SignatureOf(ModelManifest? manifest) =>
        manifest is { Input: { } input, Output: { } output }
            ? new ModelSignature(
                [new TensorSpec(input.Name, TensorType.Fp32, [-1, .. manifest.InputShape.Select(d => (long)d)])],
                [new TensorSpec(output.Name, TensorType.Fp32, [-1, manifest.OutputCount])])
            : null;

    /// <summary>model_warmup's samples (one of zeros at batch size 1 when it names none): every input, variable dimensions as 1.</summary>
    private static List<IReadOnlyList<Tensor>> WarmupSamples(ModelManifest manifest, ModelSignature signature)
    {
        var random = new Random(0);
        var samples = manifest.ModelWarmup is { Count: > 0 } given ? given : [new WarmupSample()];
        return [.. samples.Select(sample => (IReadOnlyList<Tensor>)[.. signature.Inputs.Select(spec =>
        {
            long[] shape = [.. spec.Dims.Select((d, i) => i == 0 && signature.HasBatchDimension ? sample.BatchSize : d < 0 ? 1 : d)];
            var data = spec.Type.NewArray(shape.Aggregate(1L, (a, b) => a * b));
            if (sample.Inputs?.GetValueOrDefault(spec.Name) is { RandomData: true })
            {
                FillRandom(data, random);
            }

            return new Tensor(spec.Name, spec.Type, shape, data);
        })])];
    }

    private static void FillRandom(Array data, Random random)
    {
        for (var i = 0; i < data.Length; i++)
        {
            object value = data switch
            {
                float[] => (float)random.NextDouble(),
                double[] => random.NextDouble(),
                Half[] => (Half)random.NextDouble(),
                bool[] => random.Next(2) == 1,
                string[] => "",
                _ => Convert.ChangeType(random.Next(0, 100), data.GetType().GetElementType()!, CultureInfo.InvariantCulture),
            };
            data.SetValue(value, i);
        }
    }

    /// <summary>An answer may name a model's files, never where the server keeps them.</summary>
    private string WithoutServerPaths(string message) =>
        message.Replace(options.Value.ResolveModelsPath() + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)
            .Replace(options.Value.ResolveModelsPath(), "models", StringComparison.Ordinal);

    [LoggerMessage(EventId = LogEvents.ModelLoaded, Level = LogLevel.Information, Message = "Loaded model {Model} version {Version}: {Inputs} inputs, {Outputs} outputs, batches of up to {MaxBatchSize} rows")]
    private static partial void LogModelLoaded(ILogger logger, string model, int version, int inputs, int outputs, int maxBatchSize);

    [LoggerMessage(EventId = LogEvents.ModelEvicted, Level = LogLevel.Information, Message = "Unloaded model {Model}, the least recently used, to keep within Inference:MaxLoadedModels ({Max})")]
    private static partial void LogEvicted(ILogger logger, string model, int max);

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

/// <summary>A model folder of the repository: its serving version when loaded, its state (READY, UNAVAILABLE) and why.</summary>
public sealed record RepositoryEntry(string Name, int? Version, string State, string? Reason)
{
    public const string Ready = "READY";
    public const string Unavailable = "UNAVAILABLE";
}

internal enum LoadReason
{
    Reload,
    FirstUse,
    Explicit,
}
