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

    /// <summary>Room for <paramref name="rows"/> sensor predictions, to fill and <see cref="Enqueue"/>; null (and counted) when the queue is full.</summary>
    public RecordChunk? Rent(int rows) =>
        !Reserve(rows) ? null
        : rows <= OwnArrayRows ? new RecordChunk(new PredictionRecord[rows], rows, pooled: false)
        : new RecordChunk(ArrayPool<PredictionRecord>.Shared.Rent(rows), rows, pooled: true);

    /// <summary>Room for <paramref name="rows"/> wafer verdicts, as <see cref="Rent"/>.</summary>
    public RecordChunk? RentWafers(int rows) =>
        !Reserve(rows) ? null
        : rows <= OwnArrayRows ? new RecordChunk(new WaferRecord[rows], rows, pooled: false)
        : new RecordChunk(ArrayPool<WaferRecord>.Shared.Rent(rows), rows, pooled: true);

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
            _metrics.Dropped(ResultsMetrics.Stopped, chunk.Count);
            Release(chunk);
        }
    }

    /// <summary>Takes no more rows: the writer is stopping.</summary>
    internal void Complete() => _chunks.Writer.TryComplete();

    /// <summary>The chunk's rows left the queue (written or dropped): its room and its array go back.</summary>
    internal void Release(RecordChunk chunk)
    {
        Interlocked.Add(ref _queuedRows, -chunk.Count);
        if (!chunk.Pooled)
        {
            return;
        }

        if (chunk.Wafers is { } wafers)
        {
            ArrayPool<WaferRecord>.Shared.Return(wafers, clearArray: true);
        }
        else
        {
            ArrayPool<PredictionRecord>.Shared.Return(chunk.Records, clearArray: true);
        }
    }
}
