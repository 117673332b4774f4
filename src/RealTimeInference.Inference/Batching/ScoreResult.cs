namespace RealTimeInference.Inference.Batching;

public enum ScoreStatus
{
    /// <summary>Scores were written.</summary>
    Ok,
    /// <summary>The queue had no room: the caller should back off and retry.</summary>
    Rejected,
    /// <summary>The caller gave up before its turn; nothing was computed.</summary>
    Cancelled,
    /// <summary>The model run failed; <see cref="ScoreResult.Error"/> says why.</summary>
    Failed,
    /// <summary>The batcher is shutting down and takes no new work.</summary>
    Stopped,
}

/// <summary>
/// What became of one request: expected failures are results, not exceptions.
/// <see cref="QueueTime"/> is enqueue to batch start, <see cref="ComputeTime"/> the batch's model run.
/// </summary>
public readonly record struct ScoreResult(
    ScoreStatus Status,
    TimeSpan QueueTime = default,
    TimeSpan ComputeTime = default,
    int BatchRows = 0,
    int BatchRequests = 0,
    string? Error = null)
{
    public bool IsOk => Status == ScoreStatus.Ok;
}
