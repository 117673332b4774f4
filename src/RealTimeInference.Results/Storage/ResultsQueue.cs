using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Results.Storage;

/// <summary>Rows of one scored batch on their way to the store, in a pooled array: sensor predictions or wafer verdicts.</summary>
public sealed class RecordChunk
{
    internal RecordChunk(PredictionRecord[] records, int count, bool pooled) => (Records, Count, Pooled) = (records, count, pooled);

    internal RecordChunk(WaferRecord[] wafers, int count, bool pooled) => (Records, Wafers, Count, Pooled) = ([], wafers, count, pooled);

    public PredictionRecord[] Records { get; }

    /// <summary>Null for a chunk of sensor predictions.</summary>
    public WaferRecord[]? Wafers { get; }

    public int Count { get; }

    /// <summary>
    /// The broker message these rows came from, one row a reading in the message's order; null for
    /// every other source. The store keeps each (message id, index in the chunk) once: rows of a
    /// message delivered again are skipped and counted, not stored twice. Sensor predictions only;
    /// set before <see cref="ResultsQueue.Enqueue"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set on a chunk of wafer verdicts.</exception>
    public string? MessageId
    {
        get;
        set => field = value is null || Wafers is null
            ? value
            : throw new InvalidOperationException("A chunk of wafer verdicts cannot carry a message id: only sensor predictions are kept once per message reading.");
    }

    /// <summary>Resolved as the rows leave the queue: stored or dropped. Null (the default): nobody waits for them. Set before <see cref="ResultsQueue.Enqueue"/>.</summary>
    public StoreReceipt? Receipt { get; set; }

    /// <summary>Whether the array came from the shared pool (and goes back to it).</summary>
    internal bool Pooled { get; }

    public ReadOnlySpan<PredictionRecord> Rows => Wafers is null ? Records.AsSpan(0, Count) : default;

    public ReadOnlySpan<WaferRecord> WaferRows => Wafers is { } wafers ? wafers.AsSpan(0, Count) : default;
}

/// <summary>
/// Between the predictions and the store's one writer: bounded by rows (Results:QueueCapacity).
/// Taking a batch never waits: when the rows do not fit they are dropped and counted, so the
/// store can never slow or fail a prediction.
/// </summary>
public sealed class ResultsQueue
{
    private readonly Channel<RecordChunk> _chunks = Channel.CreateUnbounded<RecordChunk>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ResultsMetrics _metrics;
    private readonly int _capacity;
    private long _queuedRows;

    public ResultsQueue(IOptions<ResultsOptions> options, ResultsMetrics metrics)
    {
        _metrics = metrics;
        _capacity = options.Value.QueueCapacity;
        var arrays = Math.Clamp(_capacity / 1000, 16, MaxPooledArrays);
        _records = ArrayPool<PredictionRecord>.Create(maxArrayLength: 1 << 16, maxArraysPerBucket: arrays);
        _wafers = ArrayPool<WaferRecord>.Create(maxArrayLength: 1 << 16, maxArraysPerBucket: arrays);
        metrics.ObserveQueue(() => QueuedRows);
    }

    /// <summary>Rows waiting to be written.</summary>
    public long QueuedRows => Volatile.Read(ref _queuedRows);

    internal ChannelReader<RecordChunk> Reader => _chunks.Reader;

    /// <summary>
    /// Chunks up to this many rows get an array of their own: the shared pool keeps only a few arrays a
    /// size, so with thousands of single-reading chunks waiting for the writer it would hand out new
    /// 16-row arrays (its smallest) and clear them on return — measured as most of the store's cost
    /// to <c>/predict</c>.
    /// </summary>
    private const int OwnArrayRows = 8;

    /// <summary>
    /// The queue's own arrays. The shared pool keeps a few arrays a size and core: with a second of
    /// /predict-batch waiting (hundreds of 1,000-row chunks, each array 140 KB, on the large object
    /// heap) it handed out new ones, every one a step towards a full collection, and each full
    /// collection trims the shared pools — measured as a tenth of the server's CPU with the store on.
    /// As many arrays a size as the queue can hold chunks of it, at most <see cref="MaxPooledArrays"/>.
    /// </summary>
    private readonly ArrayPool<PredictionRecord> _records;
    private readonly ArrayPool<WaferRecord> _wafers;

    private const int MaxPooledArrays = 1024;

    /// <summary>Room for <paramref name="rows"/> sensor predictions, to fill and <see cref="Enqueue"/>; null (and counted) when the queue is full.</summary>
    public RecordChunk? Rent(int rows) =>
        !Reserve(rows) ? null
        : rows <= OwnArrayRows ? new RecordChunk(new PredictionRecord[rows], rows, pooled: false)
        : new RecordChunk(_records.Rent(rows), rows, pooled: true);

    /// <summary>
    /// Room for the <paramref name="rows"/> sensor predictions of a broker message, as <see cref="Rent(int)"/>,
    /// carrying <paramref name="messageId"/> (see <see cref="RecordChunk.MessageId"/>) and
    /// <paramref name="receipt"/>, which the writer resolves once the chunk, once enqueued, is stored or dropped.
    /// Null (and counted) when the queue is full: then nothing was queued and the receipt is left
    /// as it was; the message is the caller's to refuse.
    /// </summary>
    /// <param name="rows">How many predictions: the message's readings.</param>
    /// <param name="messageId">The message's id, as the broker gives it; null for none.</param>
    /// <param name="receipt">What to resolve once the rows are stored or dropped; null for none.</param>
    public RecordChunk? Rent(int rows, string? messageId, StoreReceipt? receipt)
    {
        if (Rent(rows) is not { } chunk)
        {
            return null;
        }

        chunk.MessageId = messageId;
        chunk.Receipt = receipt;
        return chunk;
    }

    /// <summary>Room for <paramref name="rows"/> wafer verdicts, as <see cref="Rent(int)"/>.</summary>
    public RecordChunk? RentWafers(int rows) =>
        !Reserve(rows) ? null
        : rows <= OwnArrayRows ? new RecordChunk(new WaferRecord[rows], rows, pooled: false)
        : new RecordChunk(_wafers.Rent(rows), rows, pooled: true);

    private bool Reserve(int rows)
    {
        if (Interlocked.Add(ref _queuedRows, rows) <= _capacity)
        {
            return true;
        }

        Interlocked.Add(ref _queuedRows, -rows);
        _metrics.Dropped(ResultsMetrics.QueueFull, rows);
        return false;
    }

    public void Enqueue(RecordChunk chunk)
    {
        if (!_chunks.Writer.TryWrite(chunk))
        {
            Drop(chunk, ResultsMetrics.Stopped);
        }
    }

    /// <summary>The chunk's rows will not be written, for <paramref name="reason"/>: counted, and released as dropped.</summary>
    internal void Drop(RecordChunk chunk, string reason)
    {
        _metrics.Dropped(reason, chunk.Count);
        Release(chunk, stored: false);
    }

    /// <summary>Takes no more rows: the writer is stopping.</summary>
    internal void Complete() => _chunks.Writer.TryComplete();

    /// <summary>
    /// The chunk's rows left the queue, <paramref name="stored"/> or dropped: its room and its array go
    /// back, then its receipt is resolved (so a caller it wakes finds the room). Every way out of the
    /// queue comes here, once a chunk.
    /// </summary>
    internal void Release(RecordChunk chunk, bool stored)
    {
        Interlocked.Add(ref _queuedRows, -chunk.Count);
        if (chunk.Pooled)
        {
            if (chunk.Wafers is { } wafers)
            {
                _wafers.Return(wafers, clearArray: true);
            }
            else
            {
                _records.Return(chunk.Records, clearArray: true);
            }
        }

        chunk.Receipt?.Resolve(stored);
    }
}
