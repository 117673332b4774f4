using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Tests;
using RealTimeInference.Inference.Tests.Batching;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Notifications;
using RealTimeInference.Results.Storage;
using static RealTimeInference.Results.Tests.Storage.StoreFolder;

namespace RealTimeInference.Results.Tests.Storage;

/// <summary>Every prediction offered is written or counted as dropped, through store outages, a full queue and a stop.</summary>
public sealed class ResultsWriterTests : IAsyncLifetime
{
    private readonly StoreFolder _folder = new();
    private readonly TestMeters _meters = new();
    private readonly TimerSignallingTimeProvider _time = new();
    private readonly FaultyStore _store;
    private ResultsQueue? _queue;
    private ResultsWriter? _writer;
    private MetricCollector<long>? _written;

    public ResultsWriterTests() => _store = new FaultyStore(new SqliteResultsStore(_folder.File));

    private long Written => _meters.Total("written_total");

    private long Dropped(string reason) => _meters.Total("dropped_total", ("reason", reason));

    private ResultsWriter Create(int capacity = 1_000, int attempts = 5, bool withStore = true)
    {
        // Written as soon as queued: the only timers on the fake clock are the retries'.
        var options = Options.Create(new ResultsOptions { QueueCapacity = capacity, WriteAttempts = attempts, WriteInterval = TimeSpan.Zero });
        _written = new MetricCollector<long>(_meters, ResultsMetrics.MeterName, "written_total");
        var metrics = new ResultsMetrics(_meters);
        _queue = new ResultsQueue(options, metrics);
        return _writer = new ResultsWriter(
            _queue, new ResultsStoreChoice(withStore ? _store : null), options, metrics, _time, NullLogger<ResultsWriter>.Instance);
    }

    private bool Offer(int rows) => Offer(_queue!.Rent(rows));

    /// <summary>Offers <paramref name="rows"/> rows as a broker consumer does, with a receipt to wait on; null when the queue is full.</summary>
    private StoreReceipt? OfferWithReceipt(int rows, string? messageId)
    {
        var receipt = new StoreReceipt();
        return Offer(_queue!.Rent(rows, messageId, receipt)) ? receipt : null;
    }

    private bool Offer(RecordChunk? chunk)
    {
        if (chunk is null)
        {
            return false;
        }

        for (var i = 0; i < chunk.Count; i++)
        {
            chunk.Records[i] = Row(request: $"r{i}");
        }

        _queue!.Enqueue(chunk);
        return true;
    }

    /// <summary>Waits until the writer has counted <paramref name="rows"/> rows written (it counts after the store returns).</summary>
    private async Task WaitWrittenAsync(long rows)
    {
        // One snapshot for both the sum and the count: a measurement between two snapshots would be waited for twice.
        while (_written!.GetMeasurementSnapshot() is var snapshot && snapshot.Sum(m => m.Value) < rows)
        {
            await _written.WaitForMeasurementsAsync(snapshot.Count + 1, TimeSpan.FromSeconds(10));
        }
    }

    private async Task<int> StoredRowsAsync() =>
        (await _store.QueryAsync(new PredictionQuery(null, null, null, null, false, 1000, null), CancellationToken.None)).Count;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.StopAsync(CancellationToken.None);
            _writer.Dispose();
        }

        _written?.Dispose();
        _store.Dispose();
        _meters.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task StoreDownForTwoWrites_TheRowsAreWrittenOnceItIsBack()
    {
        var writer = Create(attempts: 5);
        await writer.StartAsync(CancellationToken.None);
        _store.FailNext = 2;

        Assert.True(Offer(10));
        await _time.WaitForTimerAsync();
        _time.Advance(TimeSpan.FromMilliseconds(100));
        await _time.WaitForTimerAsync();
        _time.Advance(TimeSpan.FromMilliseconds(200));
        await WaitWrittenAsync(10);

        Assert.Equal(10, Written);
        Assert.Equal(0, Dropped(ResultsMetrics.StoreError));
        Assert.Equal(10, await StoredRowsAsync());
    }

    [Fact]
    public async Task StoreDownLongerThanTheAttempts_ThoseRowsAreDroppedAndCounted_TheNextAreWritten()
    {
        var writer = Create(attempts: 2);
        await writer.StartAsync(CancellationToken.None);
        _store.FailNext = 2;

        using var dropped = new MetricCollector<long>(_meters, ResultsMetrics.MeterName, "dropped_total");
        Assert.True(Offer(10));
        await _time.WaitForTimerAsync();
        _time.Advance(TimeSpan.FromMilliseconds(100));
        // The second try fails too and its rows are counted as dropped; only then come the next rows.
        await dropped.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));
        Assert.True(Offer(5));
        await WaitWrittenAsync(5);

        Assert.Equal(10, Dropped(ResultsMetrics.StoreError));
        Assert.Equal(5, Written);
        Assert.Equal(15, Written + Dropped(ResultsMetrics.StoreError));
        Assert.Equal(5, await StoredRowsAsync());
    }

    [Fact]
    public async Task StoreAwayLongerThanTheAttempts_TheRowsWaitAndAreWrittenOnceItIsBack()
    {
        var writer = Create(attempts: 2);
        await writer.StartAsync(CancellationToken.None);
        _store.FailsAsAway = true;
        _store.FailNext = 4;

        Assert.True(Offer(10));
        foreach (var backoff in new[] { 100, 200, 400, 800 })
        {
            await _time.WaitForTimerAsync();
            _time.Advance(TimeSpan.FromMilliseconds(backoff));
        }

        await WaitWrittenAsync(10);

        Assert.Equal(0, Dropped(ResultsMetrics.StoreError));
        Assert.Equal(10, await StoredRowsAsync());
    }

    [Fact]
    public async Task QueueFull_TheBatchThatDoesNotFitIsDroppedAndCounted_NeverWaitedFor()
    {
        var writer = Create(capacity: 10);

        Assert.True(Offer(8));
        Assert.False(Offer(5));
        Assert.True(Offer(2));
        await writer.StartAsync(CancellationToken.None);
        await WaitWrittenAsync(10);

        Assert.Equal(5, Dropped(ResultsMetrics.QueueFull));
        Assert.Equal(10, Written);
    }

    [Fact]
    public async Task Stop_WritesWhatIsQueuedFirst()
    {
        var writer = Create();
        Assert.True(Offer(20));
        Assert.True(Offer(30));

        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(50, Written);
        Assert.Equal(50, await StoredRowsAsync());
        // Stopped: later rows are refused and counted, not left in a queue nobody drains.
        Assert.True(Offer(3));
        Assert.Equal(3, Dropped(ResultsMetrics.Stopped));
    }

    [Fact]
    public async Task StopDuringAWrite_TheWriteFinishes_ItsRowsAreWrittenNotDropped()
    {
        var writer = Create();
        _store.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await writer.StartAsync(CancellationToken.None);
        Assert.True(Offer(10));
        await _store.WriteStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var stopping = writer.StopAsync(CancellationToken.None);
        _store.Gate.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(10, Written);
        Assert.Equal(0, Dropped(ResultsMetrics.StoreError));
        Assert.Equal(10, await StoredRowsAsync());
    }

    [Fact]
    public async Task Receipt_ResolvesTrueOnlyOnceTheWriteCommits_AndTheRowsAreQueryableThen()
    {
        var writer = Create();
        _store.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await writer.StartAsync(CancellationToken.None);
        var receipt = OfferWithReceipt(10, "m-1")!;
        await _store.WriteStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(receipt.Task.IsCompleted);
        _store.Gate.SetResult();

        Assert.True(await receipt.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(10, await StoredRowsAsync());
        Assert.Equal(10, Written);
    }

    [Fact]
    public async Task Receipt_ResolvesFalse_WhenTheStoreFailsEveryAttempt_AndTheRowsAreCountedDropped()
    {
        var writer = Create(attempts: 2);
        await writer.StartAsync(CancellationToken.None);
        _store.FailNext = 2;

        var receipt = OfferWithReceipt(10, "m-1")!;
        await _time.WaitForTimerAsync();
        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.False(await receipt.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(10, Dropped(ResultsMetrics.StoreError));
        Assert.Equal(0, await StoredRowsAsync());
    }

    [Fact]
    public async Task RedeliveredMessage_ItsReceiptResolvesTrue_ItsRowsAreCountedAsDuplicates_NotWrittenAgain()
    {
        using var duplicates = new MetricCollector<long>(_meters, ResultsMetrics.MeterName, "duplicates_total");
        var writer = Create();
        await writer.StartAsync(CancellationToken.None);

        Assert.True(await OfferWithReceipt(10, "m-1")!.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await OfferWithReceipt(10, "m-1")!.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(10, duplicates.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(10, Written);
        Assert.Equal(10, await StoredRowsAsync());
    }

    [Fact]
    public async Task Stop_ResolvesTheReceiptsOfWhatItWritesOnTheWayDown_AndRefusesWhatComesAfter()
    {
        var writer = Create();
        var message = OfferWithReceipt(20, "m-1")!;
        var plain = OfferWithReceipt(30, messageId: null)!;

        await writer.StartAsync(CancellationToken.None);
        await writer.StopAsync(CancellationToken.None);

        Assert.True(message.Task.IsCompleted && plain.Task.IsCompleted);
        Assert.True(await message.Task);
        Assert.True(await plain.Task);
        Assert.Equal(50, await StoredRowsAsync());
        var late = OfferWithReceipt(3, "m-2")!;
        Assert.False(await late.Task);
        Assert.Equal(3, Dropped(ResultsMetrics.Stopped));
    }

    [Fact]
    public async Task NoStore_Stop_DropsWhatWasOffered_AndResolvesItsReceipts()
    {
        var writer = Create(withStore: false);
        await writer.StartAsync(CancellationToken.None);
        var receipt = OfferWithReceipt(5, "m-1")!;

        await writer.StopAsync(CancellationToken.None);

        Assert.False(await receipt.Task);
        Assert.Equal(5, Dropped(ResultsMetrics.Stopped));
        Assert.Equal(0, _queue!.QueuedRows);
    }

    [Fact]
    public void Rent_WhenTheQueueIsFull_ReturnsNull_AndLeavesTheReceiptToTheCaller()
    {
        Create(capacity: 10);
        var receipt = new StoreReceipt();

        Assert.Null(_queue!.Rent(11, "m-1", receipt));

        Assert.False(receipt.Task.IsCompleted);
        Assert.Equal(11, Dropped(ResultsMetrics.QueueFull));
        Assert.Equal(0, _queue.QueuedRows);
    }

    [Fact]
    public async Task AReceiptOfSeveralChunks_SaysStoredOnceEveryChunkIs_AndNotStoredOnceOneIsNot()
    {
        var writer = Create(capacity: 10);
        await writer.StartAsync(CancellationToken.None);
        var stored = new StoreReceipt();
        stored.ExpectChunks(3);
        var cut = new StoreReceipt();
        cut.ExpectChunks(2);

        Assert.True(Offer(_queue!.Rent(4, "m-1@0", stored)));
        Assert.True(Offer(_queue.Rent(4, "m-1@4", stored)));
        await WaitWrittenAsync(8);
        Assert.False(stored.Task.IsCompleted);
        Assert.True(Offer(_queue.Rent(2, "m-1@8", stored)));
        Assert.True(await stored.Task);

        // One chunk in, the other finds no room: the caller resolves it not stored, as the results sink does.
        Assert.True(Offer(_queue.Rent(3, "m-2@0", cut)));
        await WaitWrittenAsync(13);
        Assert.Null(_queue.Rent(11, "m-2@3", cut));
        cut.Resolve(stored: false);
        Assert.False(await cut.Task);
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void MessageId_OnAChunkOfWaferVerdicts_IsRefused()
    {
        var wafers = new RecordChunk(new WaferRecord[1], 1, pooled: false);

        Assert.Throws<InvalidOperationException>(() => wafers.MessageId = "m-1");
    }

    [Fact]
    public async Task Retention_DeletesEveryPredictionPastIt_ChunkByChunk()
    {
        var options = Options.Create(new ResultsOptions { Retention = TimeSpan.FromDays(7) });
        _time.SetUtcNow(T0);
        _store.Initialize();
        var old = Enumerable.Range(0, ResultsRetention.ChunkRows + 5).Select(_ => Row(predictedAt: T0.AddDays(-8))).ToArray();
        // The store keeps a write's rows of one tool in blocks, and deletes a block once its newest row is old.
        await _store.WriteAsync([Chunk(old)], CancellationToken.None);
        await _store.WriteAsync([Chunk(Row(predictedAt: T0.AddDays(-1), request: "kept"))], CancellationToken.None);
        using var retention = new ResultsRetention(new ResultsStoreChoice(_store), options, new ResultsMetrics(_meters), _time, NullLogger<ResultsRetention>.Instance);

        var deleted = await retention.EnforceAsync(_store, CancellationToken.None);

        Assert.Equal(ResultsRetention.ChunkRows + 5, deleted);
        Assert.Equal(deleted, _meters.Total("deleted_total"));
        Assert.Equal(1, await StoredRowsAsync());
    }

    /// <summary>The real store, made to fail its next writes on demand.</summary>
    private sealed class FaultyStore(SqliteResultsStore inner) : IResultsStore
    {
        public int FailNext { get; set; }

        /// <summary>Whether its failures say "away for now", as a lost PostgreSQL connection does.</summary>
        public bool FailsAsAway { get; set; }

        public void Initialize() => inner.Initialize();

        public bool IsTransient(Exception error) => FailsAsAway && error is IOException;

        /// <summary>When set, a write waits for it (as a write over the network takes its time), honouring its token as Npgsql does.</summary>
        public TaskCompletionSource? Gate { get; set; }

        public TaskCompletionSource WriteStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<int> WriteAsync(IReadOnlyList<RecordChunk> chunks, CancellationToken cancellationToken)
        {
            WriteStarted.TrySetResult();
            if (Gate is { } gate)
            {
                await gate.Task.WaitAsync(cancellationToken);
            }

            if (FailNext > 0)
            {
                FailNext--;
                throw new IOException("The store is down.");
            }

            return await inner.WriteAsync(chunks, cancellationToken);
        }

        public Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int maxRows, CancellationToken cancellationToken) =>
            inner.DeleteOlderThanAsync(cutoff, maxRows, cancellationToken);

        public Task<int> DeleteOldAlertsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
            inner.DeleteOldAlertsAsync(cutoff, cancellationToken);

        public Task<IReadOnlyList<StoredPrediction>> QueryAsync(PredictionQuery query, CancellationToken cancellationToken) =>
            inner.QueryAsync(query, cancellationToken);

        public Task<IReadOnlyList<StoredWafer>> QueryWafersAsync(WaferQuery query, CancellationToken cancellationToken) =>
            inner.QueryWafersAsync(query, cancellationToken);

        public Task<IReadOnlyList<SummaryBucket>> SummarizeAsync(SummaryQuery query, CancellationToken cancellationToken) =>
            inner.SummarizeAsync(query, cancellationToken);

        public Task SaveDecisionsAsync(IReadOnlyList<OptimizerDecision> decisions, CancellationToken cancellationToken) =>
            inner.SaveDecisionsAsync(decisions, cancellationToken);

        public Task<IReadOnlyList<OptimizerDecision>> QueryDecisionsAsync(DecisionQuery query, CancellationToken cancellationToken) =>
            inner.QueryDecisionsAsync(query, cancellationToken);

        public Task SaveAlertAsync(AlertChange change, IReadOnlyList<string> notify, CancellationToken cancellationToken) =>
            inner.SaveAlertAsync(change, notify, cancellationToken);

        public Task<IReadOnlyList<Notification>> PendingAsync(string sink, int max, CancellationToken cancellationToken) =>
            inner.PendingAsync(sink, max, cancellationToken);

        public Task DeliveredAsync(Notification notification, DateTimeOffset at, CancellationToken cancellationToken) =>
            inner.DeliveredAsync(notification, at, cancellationToken);

        public Task<(IReadOnlyList<AlertView> Alerts, long LastId)> LoadAlertsAsync(int recentResolved, CancellationToken cancellationToken) =>
            inner.LoadAlertsAsync(recentResolved, cancellationToken);

        public Task SaveToolStateAsync(ToolStateView state, CancellationToken cancellationToken) => inner.SaveToolStateAsync(state, cancellationToken);

        public Task<IReadOnlyList<ToolStateView>> LoadToolStatesAsync(CancellationToken cancellationToken) => inner.LoadToolStatesAsync(cancellationToken);

        public void Dispose() => inner.Dispose();
    }
}
