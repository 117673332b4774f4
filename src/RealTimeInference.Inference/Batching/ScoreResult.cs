namespace RealTimeInference.Inference.Batching;

public enum ScoreStatus
{
    /// <summary>Scores were written.</summary>
    Ok,
    /// <summary>Not admitted (<see cref="ScoreResult.Reason"/> says why): the caller should back off and retry.</summary>
    Rejected,
    /// <summary>Admitted, then dropped from the queue to make room for more urgent or newer work.</summary>
    Shed,
    /// <summary>Its deadline passed before its turn; nothing was computed.</summary>
    Expired,
    /// <summary>The caller gave up before its turn; nothing was computed.</summary>
    Cancelled,
    /// <summary>The model run failed; <see cref="ScoreResult.Error"/> says why.</summary>
    Failed,
    /// <summary>The batcher is shutting down and takes no new work.</summary>
    Stopped,
}

/// <summary>Why work was dropped without being computed; each is a label of the dropped-work counter.</summary>
public enum DropReason
{
    None,
    /// <summary>No room in the queue, and nothing less urgent to shed.</summary>
    QueueFull,
    /// <summary>Above the sampling watermark, only 1 in N requests is admitted.</summary>
    Sampled,
    /// <summary>The predicted wait in the queue already passes the deadline.</summary>
    DeadlineUnmeetable,
    /// <summary>The deadline passed while it waited.</summary>
    DeadlineExpired,
    /// <summary>Shed from the queue, oldest first, to admit newer work.</summary>
    ShedOldest,
    /// <summary>Shed from the queue, newest first, to admit other work.</summary>
    ShedNewest,
}

/// <summary>
/// What became of one request: expected failures are results, not exceptions.
/// <see cref="QueueTime"/> is enqueue to batch start, <see cref="ComputeTime"/> the batch's model run.
/// A dropped request carries its <see cref="Reason"/> and a <see cref="RetryAfter"/> estimated
/// from the queue's depth and the model's recent speed.
/// </summary>
public readonly record struct ScoreResult(
    ScoreStatus Status,
    TimeSpan QueueTime = default,
    TimeSpan ComputeTime = default,
    int BatchRows = 0,
    int BatchRequests = 0,
    string? Error = null,
    DropReason Reason = DropReason.None,
    TimeSpan RetryAfter = default)
{
    public bool IsOk => Status == ScoreStatus.Ok;
}
