namespace RealTimeInference.Results.Storage;

/// <summary>
/// What became of one chunk's rows, for a caller that may acknowledge their source only once they
/// are stored (a broker message): <see cref="Task"/> completes with true once the writer has
/// committed them to the store — rows of a redelivered message skipped as stored already count as
/// stored — or with false once they are dropped (the store failed every attempt, the writer had
/// stopped). It completes once, never with an error, and what awaits it never runs on the writer's
/// thread. One receipt a chunk.
/// </summary>
public sealed class StoreReceipt
{
    private readonly TaskCompletionSource<bool> _stored = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True once the rows are stored, false once they are dropped.</summary>
    public Task<bool> Task => _stored.Task;

    /// <summary>Called by the queue as the chunk's rows leave it; the first call decides.</summary>
    internal void Resolve(bool stored) => _stored.TrySetResult(stored);
}
