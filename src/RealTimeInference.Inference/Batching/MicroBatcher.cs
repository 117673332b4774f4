using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tensors;
using Outcome = RealTimeInference.Inference.Outcomes.Outcome;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// Queues scoring requests for one model and runs them through a single dispatch loop, one
/// model run per batch. An idle model runs a lone request at once; batches form from whatever
/// queued while the previous batch ran, up to <c>maxBatchRows</c>, earliest deadline first
/// across the latency classes (<see cref="ClassQueues"/>), admitted by <see cref="Admission"/>.
/// Work whose deadline passed is answered, not computed. <c>maxQueueDelay</c> (opt-in) holds the
/// first request of a batch so more can join. The loop cannot end silently: a fault outside a
/// model run is logged, fails the batch in hand, and the loop goes on.
/// </summary>
public sealed partial class MicroBatcher : IAsyncDisposable
{
    private readonly string _model;
    private readonly IBatchScorer _scorer;
    private readonly int _maxBatchRows;
    private readonly int _holdUntilRows;
    private readonly bool _concatenates;
    private readonly bool _delaysExpired;
    private readonly TimeSpan _maxQueueDelay;
    private readonly TimeProvider _time;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<TimeSpan>? _runs;
    private readonly RunCost _cost = new();
    private readonly Admission _admission;
    private readonly Lock _lock = new();
    private readonly ClassQueues _queues = new();
    private readonly List<BatchWork> _batch = [];
    private readonly List<(BatchWork Work, ScoreResult Result)> _dropped = [];
    private readonly Task _loop;
    private readonly CancellationTokenSource _hold = new();
    private TaskCompletionSource? _wake;
    private long _queuedRows;
    private bool _stopping;

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
        ResiliencePipeline<TimeSpan>? runs = null,
        BatchShape? shape = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueueDelay, TimeSpan.Zero);
        admission ??= AdmissionSettings.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(admission.SampleKeepEvery, 1, nameof(admission));
        _model = model;
        _scorer = scorer;
        _maxBatchRows = maxBatchRows;
        shape ??= BatchShape.Default;
        _holdUntilRows = shape.HoldUntilRows is > 0 and var hold ? Math.Min(hold, maxBatchRows) : maxBatchRows;
        _concatenates = shape.Concatenates;
        _delaysExpired = shape.DelaysExpired;
        _maxQueueDelay = maxQueueDelay;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _runs = runs;
        _admission = new Admission(admission, capacityRows, _cost, time.TimestampFrequency);
        _loop = Task.Run(DispatchLoopAsync);
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

        return Enqueue(new BatchWork(features, scores, rows, _time.GetTimestamp(), deadline, cancellationToken));
    }

    /// <summary>
    /// Runs the model on named <paramref name="inputs"/> (in the model's input order; for a model
    /// that batches, each with the same rows along dimension 0) by <paramref name="deadline"/>; the
    /// result's <see cref="ScoreResult.Outputs"/> are this request's rows of <paramref name="outputs"/>, in that order.
    /// </summary>
    public ValueTask<ScoreResult> RunAsync(
        IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputs, Deadline deadline, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfZero(inputs.Count, nameof(inputs));
        var rows = _concatenates ? (int)inputs[0].Rows : 1;
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1, nameof(inputs));
        for (var i = 1; _concatenates && i < inputs.Count; i++)
        {
            if (inputs[i].Rows != rows)
            {
                throw new ArgumentException("Every input must hold the same rows.", nameof(inputs));
            }
        }

        return Enqueue(new BatchWork(inputs, outputs, rows, _time.GetTimestamp(), deadline, cancellationToken));
    }

    private ValueTask<ScoreResult> Enqueue(BatchWork work)
    {
        var (now, rows, deadline) = (work.Enqueued, work.Rows, work.Deadline);
        List<BatchWork>? shed = null;
        Outcome admitted;
        TaskCompletionSource? wake = null;
        lock (_lock)
        {
            admitted = _stopping ? Outcome.Unavailable : _admission.Admit(_queues, work, now, ref shed);
            if (admitted == Outcome.Ok)
            {
                _queues.Enqueue(work);
                (wake, _wake) = (_wake, null);
            }

            Volatile.Write(ref _queuedRows, _queues.Rows);
        }

        wake?.TrySetResult();
        if (shed is not null)
        {
            _metrics.QueueChanged(_model, -shed.Sum(s => (long)s.Rows));
            foreach (var victim in shed)
            {
                Complete(victim, Dropped(_admission.ShedOutcome));
            }
        }

        if (admitted != Outcome.Ok)
        {
            var refused = Dropped(admitted);
            _metrics.RecordOutcome(_model, deadline.Class, admitted);
            return ValueTask.FromResult(refused);
        }

        _metrics.QueueChanged(_model, rows);
        return new ValueTask<ScoreResult>(work.Task);
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
        ReleaseHeldBatches();
        await _loop.ConfigureAwait(false);
        _hold.Dispose();
    }

    /// <summary>Runs a batch held open for more work (<c>maxQueueDelay</c>) now, and holds none from now on: the server is draining.</summary>
    public void ReleaseHeldBatches()
    {
        try
        {
            _hold.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already stopped.
        }
    }

    /// <summary>An answer for work not computed, with the wait the queue's depth and the model's recent speed predict.</summary>
    private ScoreResult Dropped(Outcome outcome) => new(outcome, RetryAfter: _cost.Predict(QueuedRows));

    private async Task DispatchLoopAsync()
    {
        while (true)
        {
            try
            {
                if (!await DispatchOnceAsync().ConfigureAwait(false))
                {
                    return;
                }
            }
#pragma warning disable CA1031 // The last-resort guard: whatever failed, the callers in hand get an answer and the loop goes on.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogDispatchFault(_logger, ex, _model);
                var failed = new ScoreResult(Outcome.Failed, Error: $"The model's dispatch loop failed: {ex.Message}");
                foreach (var (work, _) in _dropped)
                {
                    work.TrySetResult(failed);
                }

                foreach (var work in _batch)
                {
                    work.TrySetResult(failed);
                }

                _dropped.Clear();
                _batch.Clear();
            }
        }
    }

    /// <summary>Waits for work and runs one batch of it; false once stopping with nothing queued.</summary>
    private async Task<bool> DispatchOnceAsync()
    {
        Task? idle = null;
        lock (_lock)
        {
            if (_queues.Rows == 0)
            {
                if (_stopping)
                {
                    return false;
                }

                _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                idle = _wake.Task;
            }
        }

        if (idle is not null)
        {
            await idle.ConfigureAwait(false);
            return true;
        }

        if (_maxQueueDelay > TimeSpan.Zero && !_hold.IsCancellationRequested && QueuedRows < _holdUntilRows && OldestEnqueue() is { } oldest)
        {
            // The delay counts from the oldest request's arrival, not from when the loop noticed it.
            var remaining = _maxQueueDelay - _time.GetElapsedTime(oldest);
            if (remaining > TimeSpan.Zero)
            {
                await Task.Delay(remaining, _time, _hold.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        var rows = Take();
        foreach (var (work, result) in _dropped)
        {
            Complete(work, result);
        }

        _dropped.Clear();
        if (_batch.Count > 0)
        {
            Execute(rows);
            _batch.Clear();
        }

        return true;
    }

    private long? OldestEnqueue()
    {
        lock (_lock)
        {
            return _queues.OldestEnqueue();
        }
    }

    /// <summary>Moves the most urgent queued work into the batch, up to the batch size; returns its rows.</summary>
    private int Take()
    {
        var now = _time.GetTimestamp();
        var rows = 0;
        var taken = 0L;
        lock (_lock)
        {
            while (rows < _maxBatchRows && _queues.PeekEarliest() is { } next)
            {
                if (rows > 0 && (rows + next.Rows > _maxBatchRows || !_concatenates || !next.JoinsWith(_batch[0])))
                {
                    break;
                }

                var work = _queues.DequeueEarliest();
                taken += work.Rows;
                if (work.CancellationToken.IsCancellationRequested)
                {
                    _dropped.Add((work, new ScoreResult(Outcome.Cancelled)));
                }
                else if (work.Deadline.Due <= now && !_delaysExpired)
                {
                    _dropped.Add((work, Dropped(Outcome.DeadlineExpired)));
                }
                else
                {
                    _batch.Add(work);
                    rows += work.Rows;
                }
            }

            Volatile.Write(ref _queuedRows, _queues.Rows);
        }

        _metrics.QueueChanged(_model, -taken);
        return rows;
    }

    private void Execute(int rows)
    {
        var start = _time.GetTimestamp();
        TimeSpan compute;
        try
        {
            // The model's circuit breaker sees every run: a failed or slow one counts against it,
            // and while it is open the run is refused without touching the model.
            compute = _runs is null
                ? BatchRun.Score(_scorer, _batch, rows, _time)
                : _runs.Execute(static run => BatchRun.Score(run.Scorer, run.Batch, run.Rows, run.Time), (Scorer: _scorer, Batch: _batch, Rows: rows, Time: _time));
        }
#pragma warning disable CA1031 // A failed model run is answered to every caller in the batch, never thrown into the loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (ex is not BrokenCircuitException)
            {
                LogBatchFailed(_logger, ex, _model, rows);
            }

            foreach (var work in _batch)
            {
                Complete(work, new ScoreResult(Outcome.Failed, _time.GetElapsedTime(work.Enqueued, start), Error: ex.Message));
            }

            return;
        }

        var end = _time.GetTimestamp();
        _cost.Observe(rows, compute);
        _metrics.RecordBatch(_model, rows, _batch.Count, compute);
        // One count for the whole batch: per-request metric calls are the hot path's largest cost.
        _metrics.RecordOk(_model, _batch.Count);
        foreach (var work in _batch)
        {
            if (end > work.Deadline.Due)
            {
                _metrics.RecordDeadlineMiss(_model, work.Deadline.Class);
            }
        }

        // Metrics first: should recording throw, the loop's guard still has the whole batch to answer.
        foreach (var work in _batch)
        {
            work.TrySetResult(new ScoreResult(Outcome.Ok, _time.GetElapsedTime(work.Enqueued, start), compute, rows, _batch.Count, Outputs: work.Results));
        }
    }

    /// <summary>Answers work that was not computed (or whose run failed), counting it by outcome.</summary>
    private void Complete(BatchWork work, ScoreResult result)
    {
        _metrics.RecordOutcome(_model, work.Deadline.Class, result.Outcome);
        work.TrySetResult(result);
    }

    [LoggerMessage(EventId = LogEvents.BatchFailed, Level = LogLevel.Error, Message = "Model {Model} failed a batch of {Rows} rows")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string model, int rows);

    [LoggerMessage(EventId = LogEvents.DispatchFault, Level = LogLevel.Critical, Message = "The dispatch loop of model {Model} failed outside a model run; the batch in hand was failed and the loop goes on")]
    private static partial void LogDispatchFault(ILogger logger, Exception exception, string model);
}

/// <summary>
/// How a model's requests join into runs: whether they can be concatenated along dimension 0 (a
/// model without a batch dimension runs one request a run), the rows at which a held batch runs
/// without waiting out <c>maxQueueDelay</c> (Triton's preferred batch size; 0: the batch limit), and
/// whether work past its deadline is still computed (Triton's <c>delay</c> timeout action) rather than answered uncomputed.
/// </summary>
public sealed record BatchShape(bool Concatenates = true, int HoldUntilRows = 0, bool DelaysExpired = false)
{
    public static BatchShape Default { get; } = new();
}
