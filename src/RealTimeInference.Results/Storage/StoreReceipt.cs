namespace RealTimeInference.Results.Storage;

/// <summary>
/// What became of the rows of one message, for a caller that may acknowledge it only once they are
/// stored (a broker message): <see cref="Task"/> completes with true once the writer has committed
/// every chunk of them to the store — rows of a redelivered message skipped as stored already count
/// as stored — or with false as soon as one chunk is dropped (the store failed every attempt, the
/// writer had stopped, the queue was full). It completes once, never with an error, and what awaits
/// it never runs on the writer's thread. A message's rows are one chunk unless <see cref="ExpectChunks"/> says more.
/// </summary>
public sealed class StoreReceipt
{
    private readonly TaskCompletionSource<bool> _stored = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _chunks = 1;

    /// <summary>True once the rows are stored, false once any are dropped.</summary>
    public Task<bool> Task => _stored.Task;

    /// <summary>The message's rows go to the store in <paramref name="chunks"/> chunks (one a model that scored them); said before any is queued.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one.</exception>
    public void ExpectChunks(int chunks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunks, 1);
        _chunks = chunks;
    }

    /// <summary>One chunk's rows left the queue: a dropped one decides at once, stored ones once all are.</summary>
    internal void Resolve(bool stored)
    {
        if (!stored || Interlocked.Decrement(ref _chunks) == 0)
        {
            _stored.TrySetResult(stored);
        }
    }
}
