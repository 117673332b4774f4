using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// Queues scoring requests for one model and runs them through a single dispatch loop, one
/// model run per batch. An idle model runs a lone request at once; batches form from whatever
/// queued while the previous batch ran, up to <c>maxBatchRows</c>. <c>maxQueueDelay</c> (opt-in)
/// holds the first request of a batch so more can join.
/// </summary>
public sealed partial class MicroBatcher : IAsyncDisposable
{
    private readonly string _model;
    private readonly IBatchScorer _scorer;
    private readonly int _maxBatchRows;
    private readonly int _capacityRows;
    private readonly TimeSpan _maxQueueDelay;
    private readonly TimeProvider _time;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Channel<WorkItem> _queue;
    private readonly Task _loop;
    private long _queuedRows;
    private volatile bool _stopping;

    public MicroBatcher(
        string model,
        IBatchScorer scorer,
        int maxBatchRows,
        int capacityRows,
        TimeSpan maxQueueDelay,
        TimeProvider time,
        InferenceMetrics metrics,
        ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueueDelay, TimeSpan.Zero);
        _model = model;
        _scorer = scorer;
        _maxBatchRows = maxBatchRows;
        _capacityRows = capacityRows;
        _maxQueueDelay = maxQueueDelay;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(capacityRows)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        metrics.TrackQueue(model, () => Volatile.Read(ref _queuedRows));
        _loop = Task.Run(DispatchAsync);
    }

    /// <summary>Rows waiting for their batch.</summary>
    public long QueuedRows => Volatile.Read(ref _queuedRows);

    /// <summary>
    /// Scores <paramref name="scores"/>.Length / OutputCount rows read from <paramref name="features"/>.
    /// The buffers must stay untouched until the returned task completes.
    /// </summary>
    public ValueTask<ScoreResult> ScoreAsync(Memory<float> features, Memory<float> scores, CancellationToken cancellationToken = default)
    {
        var outputs = _scorer.OutputCount;
        var rows = scores.Length / outputs;
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1, nameof(scores));
        if (scores.Length != rows * outputs)
        {
            throw new ArgumentException($"Expected {outputs} scores a row.", nameof(scores));
        }

        if (features.Length != rows * _scorer.FeatureCount)
        {
            throw new ArgumentException($"Expected {rows * _scorer.FeatureCount} floats for {rows} rows.", nameof(features));
        }

        // An empty queue always admits, so one request larger than the capacity still runs.
        var before = Interlocked.Add(ref _queuedRows, rows) - rows;
        if (before > 0 && before + rows > _capacityRows)
        {
            Interlocked.Add(ref _queuedRows, -rows);
            return Reject(ScoreStatus.Rejected);
        }

        var item = new WorkItem(features, scores, rows, _time.GetTimestamp(), cancellationToken);
        if (!_queue.Writer.TryWrite(item))
        {
            Interlocked.Add(ref _queuedRows, -rows);
            return Reject(_stopping ? ScoreStatus.Stopped : ScoreStatus.Rejected);
        }

        return new ValueTask<ScoreResult>(item.Task);
    }

    /// <summary>Takes no new work, finishes what is queued, and waits for the loop to end.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private ValueTask<ScoreResult> Reject(ScoreStatus status)
    {
        _metrics.RecordOutcome(_model, status);
        return ValueTask.FromResult(new ScoreResult(status));
    }

    private async Task DispatchAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<WorkItem>();
        WorkItem? carry = null;
        while (carry is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (carry is null && _maxQueueDelay > TimeSpan.Zero && Volatile.Read(ref _queuedRows) < _maxBatchRows
                && reader.TryPeek(out var head))
            {
                // The delay counts from the oldest request's arrival, not from when the loop noticed it.
                var remaining = _maxQueueDelay - _time.GetElapsedTime(head.Enqueued);
                if (remaining > TimeSpan.Zero)
                {
                    await Task.Delay(remaining, _time).ConfigureAwait(false);
                }
            }

            var rows = 0;
            while (rows < _maxBatchRows)
            {
                var item = carry;
                carry = null;
                if (item is null && !reader.TryRead(out item))
                {
                    break;
                }

                if (rows > 0 && rows + item.Rows > _maxBatchRows)
                {
                    carry = item;
                    break;
                }

                Interlocked.Add(ref _queuedRows, -item.Rows);
                if (item.CancellationToken.IsCancellationRequested)
                {
                    Complete(item, new ScoreResult(ScoreStatus.Cancelled));
                    continue;
                }

                batch.Add(item);
                rows += item.Rows;
            }

            if (batch.Count > 0)
            {
                Execute(batch, rows);
                batch.Clear();
            }
        }
    }

    private void Execute(List<WorkItem> batch, int rows)
    {
        var width = _scorer.FeatureCount;
        float[]? pooledFeatures = null;
        float[]? pooledScores = null;
        var start = _time.GetTimestamp();
        try
        {
            if (batch.Count == 1)
            {
                _scorer.Score(batch[0].Features, rows, batch[0].Scores.Span);
            }
            else
            {
                pooledFeatures = ArrayPool<float>.Shared.Rent(rows * width);
                var outputs = _scorer.OutputCount;
                pooledScores = ArrayPool<float>.Shared.Rent(rows * outputs);
                var offset = 0;
                foreach (var item in batch)
                {
                    item.Features.Span.CopyTo(pooledFeatures.AsSpan(offset * width));
                    offset += item.Rows;
                }

                _scorer.Score(pooledFeatures.AsMemory(0, rows * width), rows, pooledScores.AsSpan(0, rows * outputs));
                offset = 0;
                foreach (var item in batch)
                {
                    pooledScores.AsSpan(offset * outputs, item.Rows * outputs).CopyTo(item.Scores.Span);
                    offset += item.Rows;
                }
            }

            var end = _time.GetTimestamp();
            var compute = _time.GetElapsedTime(start, end);
            _metrics.RecordBatch(_model, rows, batch.Count, compute);
            foreach (var item in batch)
            {
                Complete(item, new ScoreResult(ScoreStatus.Ok, _time.GetElapsedTime(item.Enqueued, start), compute, rows, batch.Count));
            }
        }
#pragma warning disable CA1031 // A failed model run is answered to every caller in the batch, never thrown into the loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogBatchFailed(_logger, ex, _model, rows);
            foreach (var item in batch)
            {
                Complete(item, new ScoreResult(ScoreStatus.Failed, _time.GetElapsedTime(item.Enqueued, start), Error: ex.Message));
            }
        }
        finally
        {
            if (pooledFeatures is not null)
            {
                ArrayPool<float>.Shared.Return(pooledFeatures);
            }

            if (pooledScores is not null)
            {
                ArrayPool<float>.Shared.Return(pooledScores);
            }
        }
    }

    private void Complete(WorkItem item, ScoreResult result)
    {
        _metrics.RecordOutcome(_model, result.Status);
        if (result.IsOk)
        {
            _metrics.RecordQueueTime(_model, result.QueueTime);
        }

        item.TrySetResult(result);
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "Model {Model} failed a batch of {Rows} rows")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string model, int rows);

    private sealed class WorkItem(Memory<float> features, Memory<float> scores, int rows, long enqueued, CancellationToken cancellationToken)
        : TaskCompletionSource<ScoreResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public Memory<float> Features { get; } = features;

        public Memory<float> Scores { get; } = scores;

        public int Rows { get; } = rows;

        public long Enqueued { get; } = enqueued;

        public CancellationToken CancellationToken { get; } = cancellationToken;
    }
}
