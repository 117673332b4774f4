using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Batching;

/// <summary>One caller's rows waiting for a model run, and the promise of their result.</summary>
internal sealed class BatchWork(
    Memory<float> features, Memory<float> scores, int rows, long enqueued, Deadline deadline, CancellationToken cancellationToken)
    : TaskCompletionSource<ScoreResult>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public Memory<float> Features { get; } = features;

    public Memory<float> Scores { get; } = scores;

    public int Rows { get; } = rows;

    /// <summary>When it was queued, as a <see cref="TimeProvider"/> timestamp.</summary>
    public long Enqueued { get; } = enqueued;

    public Deadline Deadline { get; } = deadline;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Its place in its class's fair queue (<see cref="ClassQueues"/>): the virtual time its turn starts.</summary>
    public long Start { get; set; }

    /// <summary>Breaks ties between equal <see cref="Start"/>s: arrival order.</summary>
    public long Sequence { get; set; }
}
