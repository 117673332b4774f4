using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference;

namespace RealTimeInference.Results.Storage;

/// <summary>
/// The store's one writer: drains the queue in transactions of up to Results:WriteBatchRows rows,
/// letting rows gather for Results:WriteInterval first when fewer are queued (a transaction per
/// request would cost more than the requests).
/// A failed write is tried again with backoff, up to Results:WriteAttempts times, and then its rows
/// are dropped and counted — so every prediction is either written or counted as dropped. A store
/// that is away for now (<see cref="IResultsStore.IsTransient"/>) is tried until it is back, unless
/// the server is stopping. The store
/// is opened (and migrated) at start: a store that cannot be opened stops the server there. On
/// shutdown, which comes after the server stopped taking requests, what is queued is still written.
/// Each chunk's <see cref="RecordChunk.Receipt"/> is resolved as its rows leave the queue: true once
/// their transaction commits (rows of a redelivered message skipped as stored already included,
/// and counted as duplicates, not as written), false once they are dropped.
/// </summary>
internal sealed partial class ResultsWriter(
    ResultsQueue queue,
    ResultsStoreChoice choice,
    IOptions<ResultsOptions> options,
    ResultsMetrics metrics,
    TimeProvider time,
    ILogger<ResultsWriter> logger) : BackgroundService
{
    private readonly List<RecordChunk> _batch = [];
    private readonly SemaphoreSlim _writing = new(1, 1);

    public override void Dispose()
    {
        _writing.Dispose();
        base.Dispose();
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        choice.Store?.Initialize();
        return base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// The loop runs on a thread of its own: SQLite's calls block, and a thread-pool thread held for
    /// each write would be one fewer for requests (two, on a two-core host) until the pool grows.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        choice.Store is not { } store
            ? Task.CompletedTask
            : Task.Factory.StartNew(() => WriteLoop(store, stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void WriteLoop(IResultsStore store, CancellationToken stoppingToken)
    {
        try
        {
            var settings = options.Value;
            while (queue.Reader.WaitToReadAsync(stoppingToken).AsTask().GetAwaiter().GetResult())
            {
                if (settings.WriteInterval > TimeSpan.Zero && queue.QueuedRows < settings.WriteBatchRows)
                {
                    Task.Delay(settings.WriteInterval, time, stoppingToken).GetAwaiter().GetResult();
                }

                WriteNextAsync(store, stoppingToken).GetAwaiter().GetResult();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync writes the rest.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // What the loop left is written now (a stop that comes at once may find it never ran); rows offered from here on are counted as dropped.
        queue.Complete();
        if (choice.Store is { } store)
        {
            while (queue.Reader.TryPeek(out _))
            {
                await WriteNextAsync(store, CancellationToken.None).ConfigureAwait(false);
            }
        }
        else
        {
            // No store: what was offered anyway is dropped, so that no receipt waits forever.
            while (queue.Reader.TryRead(out var chunk))
            {
                queue.Drop(chunk, ResultsMetrics.Stopped);
            }
        }
    }

    private async Task WriteNextAsync(IResultsStore store, CancellationToken cancellationToken)
    {
        // One write at a time, should the host's stop timeout end StopAsync's wait for the loop.
        await _writing.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        var rows = 0;
        while (rows < options.Value.WriteBatchRows && queue.Reader.TryRead(out var chunk))
        {
            _batch.Add(chunk);
            rows += chunk.Count;
        }

        var stored = false;
        try
        {
            if (rows > 0)
            {
                stored = await WriteWithRetriesAsync(store, rows, running: cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var chunk in _batch)
            {
                queue.Release(chunk, stored);
            }

            _batch.Clear();
            _writing.Release();
        }
    }

    /// <summary>
    /// Writes the batch, trying again as the class says. A write is never cancelled: rows taken from
    /// the queue are written or counted, and a stop lets the write under way finish. While
    /// <paramref name="running"/> can still be cancelled and is not, a store that is away is waited for.
    /// Returns whether the rows are stored (false: dropped, and counted).
    /// </summary>
    private async Task<bool> WriteWithRetriesAsync(IResultsStore store, int rows, CancellationToken running)
    {
        var backoff = StoreRetry.FirstBackoff;
        for (var attempt = 1; ; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var duplicates = await store.WriteAsync(_batch, CancellationToken.None).ConfigureAwait(false);
                metrics.Written(rows - duplicates, Stopwatch.GetElapsedTime(started));
                if (duplicates > 0)
                {
                    metrics.Duplicates(duplicates);
                }

                return true;
            }
#pragma warning disable CA1031 // Whatever the store threw, the rows are counted and the writer goes on.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                // A store that is away (PostgreSQL restarting) is waited for while the server runs: the
                // queue keeps taking rows meanwhile, and counts what it cannot hold.
                if (attempt >= options.Value.WriteAttempts && !StoreRetry.WaitsOut(store, ex, running))
                {
                    LogDropped(logger, ex, rows, attempt);
                    metrics.Dropped(ResultsMetrics.StoreError, rows);
                    return false;
                }

                LogRetrying(logger, ex.Message, rows, attempt, backoff.TotalMilliseconds);
            }

            // A stopping server still gets its tries, so waits ignore the token past that point.
            await Task.Delay(backoff, time, CancellationToken.None).ConfigureAwait(false);
            backoff = StoreRetry.Next(backoff);
        }
    }

    [LoggerMessage(EventId = LogEvents.ResultsWriteRetrying, Level = LogLevel.Warning, Message = "Writing {Rows} predictions to the results store failed (attempt {Attempt}): {Error}; trying again in {BackoffMs} ms")]
    private static partial void LogRetrying(ILogger logger, string error, int rows, int attempt, double backoffMs);

    [LoggerMessage(EventId = LogEvents.ResultsDropped, Level = LogLevel.Error, Message = "Dropped {Rows} predictions after {Attempts} failed writes to the results store")]
    private static partial void LogDropped(ILogger logger, Exception exception, int rows, int attempts);
}
