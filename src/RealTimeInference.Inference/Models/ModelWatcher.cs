using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Inference.Models;

/// <summary>
/// Watches the models folder and reloads a model once its folder has been quiet for
/// <see cref="InferenceOptions.WatchQuietPeriod"/>: a new version or a changed model.json is
/// picked up while requests flow, and a bad one leaves the old version serving.
/// </summary>
internal sealed partial class ModelWatcher(
    ModelRepository repository,
    IOptions<InferenceOptions> options,
    TimeProvider time,
    ILogger<ModelWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var root = options.Value.ResolveModelsPath();
        if (!options.Value.WatchModels || options.Value.ModelControl == ModelControl.Explicit || !Directory.Exists(root))
        {
            return;
        }

        // Bursts of file events collapse into one entry per model, so a small bound is enough.
        var changes = Channel.CreateBounded<string>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        using var watcher = new FileSystemWatcher(root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        FileSystemEventHandler changed = (_, e) => Notify(e.FullPath);
        watcher.Changed += changed;
        watcher.Created += changed;
        watcher.Deleted += changed;
        watcher.Renamed += (_, e) => Notify(e.FullPath);
        watcher.EnableRaisingEvents = true;
        LogWatching(logger, root);

        var quiet = options.Value.WatchQuietPeriod;
        var pending = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                while (changes.Reader.TryRead(out var model))
                {
                    pending[model] = time.GetTimestamp();
                }

                foreach (var model in pending.Where(p => time.GetElapsedTime(p.Value) >= quiet).Select(p => p.Key).ToArray())
                {
                    pending.Remove(model);
                    // A model not loaded (lazy, or unloaded) stays so: its next use loads the new files.
                    if (!options.Value.LoadOnFirstUse || repository.TryGet(model, out _))
                    {
                        LogChanged(logger, model);
                        await repository.ReloadAsync(model).ConfigureAwait(false);
                    }
                }

                if (pending.Count == 0)
                {
                    await changes.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false);
                    continue;
                }

                // Wake for the next model to fall quiet, or sooner for a new change.
                var next = quiet - pending.Values.Min(changedAt => time.GetElapsedTime(changedAt));
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var read = changes.Reader.WaitToReadAsync(wake.Token).AsTask();
                await Task.WhenAny(read, Task.Delay(next, time, wake.Token)).ConfigureAwait(false);
                await wake.CancelAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        void Notify(string path)
        {
            // The first folder under the root is the model's name.
            var relative = Path.GetRelativePath(root, path);
            var model = relative.Split(Path.DirectorySeparatorChar)[0];
            if (model is not ("." or "..") && !model.StartsWith('.'))
            {
                changes.Writer.TryWrite(model);
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.ModelsWatched, Level = LogLevel.Information, Message = "Watching {Folder} for model changes")]
    private static partial void LogWatching(ILogger logger, string folder);

    [LoggerMessage(EventId = LogEvents.ModelFilesChanged, Level = LogLevel.Information, Message = "Files of model {Model} changed; reloading")]
    private static partial void LogChanged(ILogger logger, string model);
}
