using System.Buffers;
using System.Threading.Channels;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// The SSE response body. The SSE writer sends every event on its own; this stream holds the bytes
/// while the subscriber has more events already queued, so a burst goes out in one socket write
/// instead of one per event. Nothing waits: when the queue is empty (or the buffer full) it sends.
/// </summary>
internal sealed class CoalescingResponseStream(Stream inner, ChannelReader<HubEvent> queued) : Stream
{
    private const int FlushAtBytes = 16 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(FlushAtBytes);
    private int _length;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>The SSE writer writes each event whole: it goes out now unless more are queued behind it.</summary>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_length + buffer.Length > _buffer.Length)
        {
            await SendAsync(cancellationToken).ConfigureAwait(false);
            if (buffer.Length > _buffer.Length)
            {
                await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        buffer.Span.CopyTo(_buffer.AsSpan(_length));
        _length += buffer.Length;
        if (queued.Count == 0)
        {
            await SendAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        queued.Count > 0 ? Task.CompletedTask : SendAsync(cancellationToken);

    public override void Flush() => throw new NotSupportedException("The SSE body is written asynchronously.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The SSE body is written asynchronously.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _buffer, null!) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        base.Dispose(disposing);
    }

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        if (_length > 0)
        {
            var length = _length;
            _length = 0;
            await inner.WriteAsync(_buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
