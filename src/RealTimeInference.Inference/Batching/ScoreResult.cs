using RealTimeInference.Inference.Outcomes;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// What became of one request: expected failures are results, not exceptions.
/// <see cref="QueueTime"/> is enqueue to batch start, <see cref="ComputeTime"/> the batch's model run.
/// Work that was not computed carries a <see cref="RetryAfter"/> estimated from the queue's depth
/// and the model's recent speed.
/// </summary>
public readonly record struct ScoreResult(
    Outcome Outcome,
    TimeSpan QueueTime = default,
    TimeSpan ComputeTime = default,
    int BatchRows = 0,
    int BatchRequests = 0,
    string? Error = null,
    TimeSpan RetryAfter = default)
{
    public bool IsOk => Outcome == Outcome.Ok;
}
