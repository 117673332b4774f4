using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// One caller's rows waiting for a model run, and the promise of their result: rows of floats for
/// the one FP32 input (<see cref="Features"/>, scored into <see cref="Scores"/>), or named tensors
/// (<see cref="Inputs"/>, answered as <see cref="Results"/>).
/// </summary>
internal sealed class BatchWork(
    Memory<float> features, Memory<float> scores, int rows, long enqueued, Deadline deadline, CancellationToken cancellationToken)
    : TaskCompletionSource<ScoreResult>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public BatchWork(
        IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputs, int rows, long enqueued, Deadline deadline, CancellationToken cancellationToken)
        : this(Memory<float>.Empty, Memory<float>.Empty, rows, enqueued, deadline, cancellationToken)
    {
        Inputs = inputs;
        OutputNames = outputs;
    }

    public Memory<float> Features { get; } = features;

    public Memory<float> Scores { get; } = scores;

    /// <summary>The named input tensors, in the model's input order; null for rows of floats.</summary>
    public IReadOnlyList<Tensor>? Inputs { get; }

    /// <summary>The outputs asked for, when <see cref="Inputs"/> is given.</summary>
    public IReadOnlyList<string> OutputNames { get; } = [];

    /// <summary>This work's own rows of each output asked for, once its batch ran.</summary>
    public IReadOnlyList<Tensor>? Results { get; set; }

    public int Rows { get; } = rows;

    /// <summary>When it was queued, as a <see cref="TimeProvider"/> timestamp.</summary>
    public long Enqueued { get; } = enqueued;

    public Deadline Deadline { get; } = deadline;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Its place in its class's fair queue (<see cref="ClassQueues"/>): the virtual time its turn starts.</summary>
    public long Start { get; set; }

    /// <summary>Breaks ties between equal <see cref="Start"/>s: arrival order.</summary>
    public long Sequence { get; set; }

    /// <summary>Whether the two can share one model run: both rows of floats, or both named tensors.</summary>
    public bool JoinsWith(BatchWork other) => (Inputs is null) == (other.Inputs is null);
}
