using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// What became of one request: expected failures are results, not exceptions.
/// <see cref="QueueTime"/> is enqueue to batch start, <see cref="ComputeTime"/> the batch's model run.
/// Work that was not computed carries a <see cref="RetryAfter"/> estimated from the queue's depth
/// and the model's recent speed. <see cref="Outputs"/>: a named-tensor request's own rows of each output it asked for.
/// </summary>
public readonly record struct ScoreResult(
    Outcome Outcome,
    TimeSpan QueueTime = default,
    TimeSpan ComputeTime = default,
    int BatchRows = 0,
    int BatchRequests = 0,
    string? Error = null,
    TimeSpan RetryAfter = default,
    IReadOnlyList<Tensor>? Outputs = null)
{
    public bool IsOk => Outcome == Outcome.Ok;
}
