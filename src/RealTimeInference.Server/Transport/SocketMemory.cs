using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Transport;

/// <summary>
/// The bytes every socket holds for its messages, against one budget
/// (<see cref="SocketOptions.MaxBufferedBytes"/>): a socket reserves before its buffer grows and
/// gives back what it held when it closes.
/// </summary>
internal sealed class SocketMemory(IOptions<SocketOptions> options, RequestMetrics metrics)
{
    public const string CloseReason = "The server's memory for unfinished messages is spent; send again later.";

    private readonly long _budget = options.Value.MaxBufferedBytes;
    private long _held;

    /// <summary>Bytes held by all sockets now.</summary>
    public long Held => Interlocked.Read(ref _held);

    /// <summary>Takes <paramref name="bytes"/> from the budget; false (and counted) when that would pass it.</summary>
    public bool TryReserve(long bytes)
    {
        var held = Interlocked.Read(ref _held);
        while (held + bytes <= _budget)
        {
            var seen = Interlocked.CompareExchange(ref _held, held + bytes, held);
            if (seen == held)
            {
                return true;
            }

            held = seen;
        }

        metrics.ConnectionRejected("socket_memory");
        return false;
    }

    public void Release(long bytes) => Interlocked.Add(ref _held, -bytes);
}
