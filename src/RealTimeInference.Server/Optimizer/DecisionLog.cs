using System.Threading.Channels;
using RealTimeInference.Inference;
using RealTimeInference.Results.Storage;

namespace RealTimeInference.Server.Optimizer;

/// <summary>
/// Keeps the optimizer's decisions in the results store, when there is one: a bounded queue the
/// optimizer never waits on, drained in transactions; a store that is away is waited out, a store
/// that refuses a batch has it counted as dropped, as is a decision the full queue cannot take.
/// </summary>
internal sealed partial class DecisionLog(ResultsStoreChoice choice, OptimizerMetrics metrics, ILogger<DecisionLog> logger) : BackgroundService
{
    private const int Capacity = 10_000, BatchSize = 500, Attempts = 3;

    private readonly Channel<OptimizerDecision> _queue = Channel.CreateBounded<OptimizerDecision>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
        _ => metrics.Dropped("queue_full"));

    public bool Storing => choice.Store is not null;

    public void Save(OptimizerDecision decision)
    {
        if (Storing)
        {
            _queue.Writer.TryWrite(decision);
        }
    }

    /// <summary>The stored decisions, newest first; empty with no store.</summary>
    public Task<IReadOnlyList<OptimizerDecision>> QueryAsync(DecisionQuery query, CancellationToken cancellationToken) =>
        choice.Store?.QueryDecisionsAsync(query, cancellationToken) ?? Task.FromResult<IReadOnlyList<OptimizerDecision>>([]);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (choice.Store is not { } store)
        {
            return;
        }

        var batch = new List<OptimizerDecision>(BatchSize);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                await WriteAsync(store, batch, stoppingToken).ConfigureAwait(false);
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
            var batch = new List<OptimizerDecision>(BatchSize);
            while (_queue.Reader.TryPeek(out _))
            {
                await WriteAsync(store, batch, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteAsync(IResultsStore store, List<OptimizerDecision> batch, CancellationToken stoppingToken)
    {
        batch.Clear();
        while (batch.Count < BatchSize && _queue.Reader.TryRead(out var decision))
        {
            batch.Add(decision);
        }

        var backoff = StoreRetry.FirstBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.SaveDecisionsAsync(batch, stoppingToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                if (attempt >= Attempts && !StoreRetry.WaitsOut(store, ex, stoppingToken))
                {
                    metrics.Dropped("store_failed", batch.Count);
                    LogNotKept(logger, batch.Count, ex);
                    return;
                }

                await Task.Delay(backoff, stoppingToken).ConfigureAwait(false);
                backoff = StoreRetry.Next(backoff);
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.OptimizerDecisionsNotKept, Level = LogLevel.Error, Message = "{Count} optimizer decisions could not be stored and were dropped")]
    private static partial void LogNotKept(ILogger logger, int count, Exception error);
}
