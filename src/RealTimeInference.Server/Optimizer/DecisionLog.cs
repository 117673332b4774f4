using System.Threading.Channels;
using RealTimeInference.Inference;
using RealTimeInference.Results.Storage;

namespace RealTimeInference.Server.Optimizer;

/// <summary>
/// Keeps the optimizer's decisions in the results store, when there is one: a bounded queue the
/// optimizer never waits on, drained in transactions by one writer. As the prediction writer does,
/// a write is never cancelled, a store that is away is waited out while the server runs, and every
/// decision not stored is counted: the full queue's, a closed queue's, a store's refusal.
/// </summary>
internal sealed partial class DecisionLog(ResultsStoreChoice choice, OptimizerMetrics metrics, TimeProvider time, ILogger<DecisionLog> logger) : BackgroundService
{
    private const int Capacity = 10_000, BatchSize = 500, Attempts = 3;

    private readonly Channel<OptimizerDecision> _queue = Channel.CreateBounded<OptimizerDecision>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropWrite },
        _ => metrics.Dropped("queue_full"));

    private readonly SemaphoreSlim _writing = new(1, 1);

    public bool Storing => choice.Store is not null;

    public void Save(OptimizerDecision decision)
    {
        if (Storing && !_queue.Writer.TryWrite(decision) && _queue.Reader.Completion.IsCompleted)
        {
            metrics.Dropped("stopped");
        }
    }

    /// <summary>The stored decisions, newest first; empty with no store.</summary>
    public Task<IReadOnlyList<OptimizerDecision>> QueryAsync(DecisionQuery query, CancellationToken cancellationToken) =>
        choice.Store?.QueryDecisionsAsync(query, cancellationToken) ?? Task.FromResult<IReadOnlyList<OptimizerDecision>>([]);

    public override void Dispose()
    {
        _writing.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (choice.Store is not { } store)
        {
            return;
        }

        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                await WriteNextAsync(store, stoppingToken).ConfigureAwait(false);
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
        _queue.Writer.TryComplete();
        if (choice.Store is { } store)
        {
            while (_queue.Reader.TryPeek(out _))
            {
                await WriteNextAsync(store, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes what is queued, up to a batch; <paramref name="running"/> only says whether a store that is away is worth waiting for.</summary>
    private async Task WriteNextAsync(IResultsStore store, CancellationToken running)
    {
        // One write at a time, should the host's stop timeout end StopAsync's wait for the loop.
        await _writing.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var batch = new List<OptimizerDecision>(BatchSize);
            while (batch.Count < BatchSize && _queue.Reader.TryRead(out var decision))
            {
                batch.Add(decision);
            }

            var backoff = StoreRetry.FirstBackoff;
            for (var attempt = 1; batch.Count > 0; attempt++)
            {
                try
                {
                    await store.SaveDecisionsAsync(batch, CancellationToken.None).ConfigureAwait(false);
                    return;
                }
#pragma warning disable CA1031 // Whatever the store threw, the decisions are counted and the log goes on.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    if (attempt >= Attempts && !StoreRetry.WaitsOut(store, ex, running))
                    {
                        metrics.Dropped("store_failed", batch.Count);
                        LogNotKept(logger, batch.Count, ex);
                        return;
                    }
                }

                await Task.Delay(backoff, time, CancellationToken.None).ConfigureAwait(false);
                backoff = StoreRetry.Next(backoff);
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    [LoggerMessage(EventId = LogEvents.OptimizerDecisionsNotKept, Level = LogLevel.Error, Message = "{Count} optimizer decisions could not be stored and were dropped")]
    private static partial void LogNotKept(ILogger logger, int count, Exception error);
}
