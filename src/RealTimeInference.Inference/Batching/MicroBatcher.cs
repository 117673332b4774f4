using System.Buffers;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// Queues scoring requests for one model and runs them through a single dispatch loop, one
/// model run per batch. An idle model runs a lone request at once; batches form from whatever
/// queued while the previous batch ran, up to <c>maxBatchRows</c>, earliest deadline first
/// across the latency classes. Work whose deadline passed is answered, not computed.
/// <c>maxQueueDelay</c> (opt-in) holds the first request of a batch so more can join.
/// </summary>
public sealed partial class MicroBatcher : IAsyncDisposable
{
    private readonly string _model;
    private readonly IBatchScorer _scorer;
    private readonly int _maxBatchRows;
    private readonly int _capacityRows;
    private readonly TimeSpan _maxQueueDelay;
    private readonly AdmissionSettings _admission;
    private readonly TimeProvider _time;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private readonly ResiliencePipeline<TimeSpan>? _runs;

    // One FIFO per latency class, guarded by _lock. Within a class, budgets are equal, so FIFO
    // order is deadline order and the earliest deadline overall is one of the heads.
    private readonly Lock _lock = new();
    private readonly LinkedList<WorkItem>[] _queues = [.. LatencyClasses.All.Select(_ => new LinkedList<WorkItem>())];
    private readonly long[] _classRows = new long[LatencyClasses.Count];
    private TaskCompletionSource? _wake;
    private long _queuedRows;
    private long _sampled;
    private bool _stopping;

    // Recent model time per row, to predict waits and Retry-After: the ratio of exponential averages
    // of run time and rows per run, so one slow small run (a GC pause, the first JIT) moves it little.
    // Waits are predicted only once enough runs were seen for the figure to mean something.
    private const int RunsBeforePredicting = 16;
    private double _averageRunSeconds;
    private double _averageRunRows;
    private double _secondsPerRow;
    private int _runCount;

    public MicroBatcher(
        string model,
        IBatchScorer scorer,
        int maxBatchRows,
        int capacityRows,
        TimeSpan maxQueueDelay,
        TimeProvider time,
        InferenceMetrics metrics,
        ILogger logger,
        AdmissionSettings? admission = null,
        ResiliencePipeline<TimeSpan>? runs = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueueDelay, TimeSpan.Zero);
        _model = model;
        _scorer = scorer;
        _maxBatchRows = maxBatchRows;
        _capacityRows = capacityRows;
        _maxQueueDelay = maxQueueDelay;
        _admission = admission ?? AdmissionSettings.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(_admission.SampleKeepEvery, 1, nameof(admission));
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _runs = runs;
        metrics.TrackQueue(model, () => Volatile.Read(ref _queuedRows));
        _loop = Task.Run(DispatchAsync);
    }

    /// <summary>Rows waiting for their batch.</summary>
    public long QueuedRows => Volatile.Read(ref _queuedRows);

    /// <summary>Scores as process-control work (due within 1 s). See the overload with a deadline.</summary>
    public ValueTask<ScoreResult> ScoreAsync(Memory<float> features, Memory<float> scores, CancellationToken cancellationToken = default) =>
        ScoreAsync(features, scores, Deadline.For(LatencyClass.ProcessControl, _time.GetTimestamp(), _time), cancellationToken);

    /// <summary>
    /// Scores <paramref name="scores"/>.Length / OutputCount rows read from <paramref name="features"/> by
    /// <paramref name="deadline"/>. The buffers must stay untouched until the returned task completes.
    /// </summary>
    public ValueTask<ScoreResult> ScoreAsync(
        Memory<float> features, Memory<float> scores, Deadline deadline, CancellationToken cancellationToken = default)
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

        var now = _time.GetTimestamp();
        var item = new WorkItem(features, scores, rows, now, deadline, cancellationToken);
        List<WorkItem>? shed = null;
        ScoreResult? refusal;
        TaskCompletionSource? wake = null;
        lock (_lock)
        {
            refusal = Admit(item, now, ref shed);
            if (refusal is null)
            {
                _queues[(int)deadline.Class].AddLast(item);
                _classRows[(int)deadline.Class] += rows;
                Volatile.Write(ref _queuedRows, _queuedRows + rows);
                (wake, _wake) = (_wake, null);
            }
        }

        wake?.TrySetResult();
        if (shed is not null)
        {
            var reason = _admission.Policy == AdmissionPolicy.ShedOldest ? DropReason.ShedOldest : DropReason.ShedNewest;
            foreach (var victim in shed)
            {
                Complete(victim, Dropped(ScoreStatus.Shed, reason));
            }
        }

        if (refusal is { } refused)
        {
            _metrics.RecordOutcome(_model, refused.Status);
            _metrics.RecordDrop(_model, deadline.Class, refused.Reason);
            return ValueTask.FromResult(refused);
        }

        return new ValueTask<ScoreResult>(item.Task);
    }

    /// <summary>Takes no new work, finishes what is queued, and waits for the loop to end.</summary>
    public async ValueTask DisposeAsync()
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            _stopping = true;
            (wake, _wake) = (_wake, null);
        }

        wake?.TrySetResult();
        await _loop.ConfigureAwait(false);
    }

    /// <summary>Null when <paramref name="item"/> may queue (after shedding into <paramref name="shed"/>); otherwise why not.</summary>
    private ScoreResult? Admit(WorkItem item, long now, ref List<WorkItem>? shed)
    {
        if (_stopping)
        {
            return new ScoreResult(ScoreStatus.Stopped);
        }

        if (item.Deadline.Due <= now)
        {
            return Dropped(ScoreStatus.Expired, DropReason.DeadlineExpired);
        }

        // An empty queue always admits, so one request larger than the capacity still runs.
        if (_queuedRows == 0)
        {
            return null;
        }

        // Earliest deadline first: the work ahead is what is queued in this class and the more urgent ones.
        var ahead = 0L;
        for (var c = 0; c <= (int)item.Deadline.Class; c++)
        {
            ahead += _classRows[c];
        }

        var wait = ahead * _secondsPerRow * _time.TimestampFrequency;
        if (Volatile.Read(ref _runCount) >= RunsBeforePredicting && now + wait > item.Deadline.Due)
        {
            return Dropped(ScoreStatus.Rejected, DropReason.DeadlineUnmeetable);
        }

        if (_admission.Policy == AdmissionPolicy.Sample && _queuedRows >= _admission.SampleWatermarkRows
            && ++_sampled % _admission.SampleKeepEvery != 0)
        {
            return Dropped(ScoreStatus.Rejected, DropReason.Sampled);
        }

        var excess = _queuedRows + item.Rows - _capacityRows;
        if (excess <= 0)
        {
            return null;
        }

        if (_admission.Policy is not (AdmissionPolicy.ShedOldest or AdmissionPolicy.ShedNewest))
        {
            return Dropped(ScoreStatus.Rejected, DropReason.QueueFull);
        }

        // Only work no more urgent than the newcomer may make room for it.
        var sheddable = 0L;
        for (var c = (int)item.Deadline.Class; c < LatencyClasses.Count; c++)
        {
            sheddable += _classRows[c];
        }

        if (sheddable < excess)
        {
            return Dropped(ScoreStatus.Rejected, DropReason.QueueFull);
        }

        shed = [];
        for (var c = LatencyClasses.Count - 1; excess > 0; c--)
        {
            var queue = _queues[c];
            while (excess > 0 && queue.Count > 0)
            {
                var victim = _admission.Policy == AdmissionPolicy.ShedOldest ? queue.First!.Value : queue.Last!.Value;
                if (_admission.Policy == AdmissionPolicy.ShedOldest)
                {
                    queue.RemoveFirst();
                }
                else
                {
                    queue.RemoveLast();
                }

                Dequeued(victim);
                excess -= victim.Rows;
                shed.Add(victim);
            }
        }

        return null;
    }

    /// <summary>A drop's answer, with the wait the queue's depth and the model's recent speed predict.</summary>
    private ScoreResult Dropped(ScoreStatus status, DropReason reason) =>
        new(status, Reason: reason, RetryAfter: TimeSpan.FromSeconds(Volatile.Read(ref _queuedRows) * _secondsPerRow));

    private void Dequeued(WorkItem item)
    {
        _classRows[(int)item.Deadline.Class] -= item.Rows;
        Volatile.Write(ref _queuedRows, _queuedRows - item.Rows);
    }

    private async Task DispatchAsync()
    {
        var batch = new List<WorkItem>();
        var dropped = new List<(WorkItem Item, ScoreResult Result)>();
        while (true)
        {
            Task? idle = null;
            lock (_lock)
            {
                if (_queuedRows == 0)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    idle = _wake.Task;
                }
            }

            if (idle is not null)
            {
                await idle.ConfigureAwait(false);
                continue;
            }

            if (_maxQueueDelay > TimeSpan.Zero && Volatile.Read(ref _queuedRows) < _maxBatchRows && OldestEnqueue() is { } oldest)
            {
                // The delay counts from the oldest request's arrival, not from when the loop noticed it.
                var remaining = _maxQueueDelay - _time.GetElapsedTime(oldest);
                if (remaining > TimeSpan.Zero)
                {
                    await Task.Delay(remaining, _time).ConfigureAwait(false);
                }
            }

            var rows = Take(batch, dropped);
            foreach (var (item, result) in dropped)
            {
                Complete(item, result);
            }

            dropped.Clear();
            if (batch.Count > 0)
            {
                Execute(batch, rows);
                batch.Clear();
            }
        }
    }

    private long? OldestEnqueue()
    {
        lock (_lock)
        {
            long? oldest = null;
            foreach (var queue in _queues)
            {
                if (queue.First is { } head && (oldest is null || head.Value.Enqueued < oldest))
                {
                    oldest = head.Value.Enqueued;
                }
            }

            return oldest;
        }
    }

    /// <summary>Moves the most urgent queued work into <paramref name="batch"/>, up to the batch size; returns its rows.</summary>
    private int Take(List<WorkItem> batch, List<(WorkItem, ScoreResult)> dropped)
    {
        var now = _time.GetTimestamp();
        var rows = 0;
        lock (_lock)
        {
            while (rows < _maxBatchRows)
            {
                LinkedList<WorkItem>? earliest = null;
                foreach (var queue in _queues)
                {
                    if (queue.First is { } head && (earliest is null || head.Value.Deadline.Due < earliest.First!.Value.Deadline.Due))
                    {
                        earliest = queue;
                    }
                }

                if (earliest is null)
                {
                    break;
                }

                var item = earliest.First!.Value;
                if (rows > 0 && rows + item.Rows > _maxBatchRows)
                {
                    break;
                }

                earliest.RemoveFirst();
                Dequeued(item);
                if (item.CancellationToken.IsCancellationRequested)
                {
                    dropped.Add((item, new ScoreResult(ScoreStatus.Cancelled)));
                }
                else if (item.Deadline.Due <= now)
                {
                    dropped.Add((item, Dropped(ScoreStatus.Expired, DropReason.DeadlineExpired)));
                }
                else
                {
                    batch.Add(item);
                    rows += item.Rows;
                }
            }
        }

        return rows;
    }

    private void Execute(List<WorkItem> batch, int rows)
    {
        var start = _time.GetTimestamp();
        try
        {
            // The model's circuit breaker sees every run: a failed or slow one counts against it,
            // and while it is open the run is refused without touching the model.
            var compute = _runs is null
                ? Run(batch, rows)
                : _runs.Execute(static run => run.Batcher.Run(run.Batch, run.Rows), (Batcher: this, Batch: batch, Rows: rows));
            var end = _time.GetTimestamp();
            _averageRunSeconds = _runCount == 0 ? compute.TotalSeconds : (0.9 * _averageRunSeconds) + (0.1 * compute.TotalSeconds);
            _averageRunRows = _runCount == 0 ? rows : (0.9 * _averageRunRows) + (0.1 * rows);
            _secondsPerRow = _averageRunSeconds / _averageRunRows;
            Volatile.Write(ref _runCount, Math.Min(_runCount + 1, RunsBeforePredicting));
            _metrics.RecordBatch(_model, rows, batch.Count, compute);
            // One count for the whole batch: per-request metric calls are the hot path's largest cost.
            _metrics.RecordOutcome(_model, ScoreStatus.Ok, batch.Count);
            foreach (var item in batch)
            {
                if (end > item.Deadline.Due)
                {
                    _metrics.RecordDeadlineMiss(_model, item.Deadline.Class);
                }

                item.TrySetResult(new ScoreResult(ScoreStatus.Ok, _time.GetElapsedTime(item.Enqueued, start), compute, rows, batch.Count));
            }
        }
#pragma warning disable CA1031 // A failed model run is answered to every caller in the batch, never thrown into the loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (ex is not BrokenCircuitException)
            {
                LogBatchFailed(_logger, ex, _model, rows);
            }

            foreach (var item in batch)
            {
                Complete(item, new ScoreResult(ScoreStatus.Failed, _time.GetElapsedTime(item.Enqueued, start), Error: ex.Message));
            }
        }
    }

    /// <summary>One model run over the batch's rows; returns how long the model took.</summary>
    private TimeSpan Run(List<WorkItem> batch, int rows)
    {
        var start = _time.GetTimestamp();
        if (batch.Count == 1)
        {
            _scorer.Score(batch[0].Features, rows, batch[0].Scores.Span);
            return _time.GetElapsedTime(start);
        }

        var width = _scorer.FeatureCount;
        var outputs = _scorer.OutputCount;
        var pooledFeatures = ArrayPool<float>.Shared.Rent(rows * width);
        var pooledScores = ArrayPool<float>.Shared.Rent(rows * outputs);
        try
        {
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

            return _time.GetElapsedTime(start);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(pooledFeatures);
            ArrayPool<float>.Shared.Return(pooledScores);
        }
    }

    /// <summary>Answers work that was not computed (or whose run failed), counting it by outcome and reason.</summary>
    private void Complete(WorkItem item, ScoreResult result)
    {
        _metrics.RecordOutcome(_model, result.Status);
        _metrics.RecordDrop(_model, item.Deadline.Class, result.Reason);
        item.TrySetResult(result);
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "Model {Model} failed a batch of {Rows} rows")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string model, int rows);

    private sealed class WorkItem(Memory<float> features, Memory<float> scores, int rows, long enqueued, Deadline deadline, CancellationToken cancellationToken)
        : TaskCompletionSource<ScoreResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public Memory<float> Features { get; } = features;

        public Memory<float> Scores { get; } = scores;

        public int Rows { get; } = rows;

        public long Enqueued { get; } = enqueued;

        public Deadline Deadline { get; } = deadline;

        public CancellationToken CancellationToken { get; } = cancellationToken;
    }
}
