using Microsoft.Extensions.Options;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Notifications;

namespace RealTimeInference.Results.Storage;

/// <summary>The store Results:Store names (opened by the writer at start); null with <c>none</c>.</summary>
public sealed class ResultsStoreChoice : IDisposable
{
    public ResultsStoreChoice(IOptions<ResultsOptions> options)
        : this(options.Value.Store switch
        {
            ResultsStoreKind.Sqlite => new SqliteResultsStore(options.Value.Path),
            ResultsStoreKind.Postgres => new PostgresResultsStore(options.Value.ConnectionString ?? ""),
            _ => null,
        })
    {
    }

    /// <summary>A given store: tests wrap the real one to inject faults.</summary>
    internal ResultsStoreChoice(IResultsStore? store) => Store = store;

    public IResultsStore? Store { get; }

    public void Dispose() => Store?.Dispose();
}

/// <summary>Where predictions are kept. One writer calls <see cref="WriteAsync"/>; queries may run beside it.</summary>
public interface IResultsStore : INotificationOutbox, IDisposable
{
    /// <summary>Opens the store and brings its schema to the current version; throws, naming the setting at fault, when it cannot.</summary>
    void Initialize();

    /// <summary>Whether <paramref name="error"/> says the store is away for now (a lost connection), not that the write itself is bad: such a write is tried until it succeeds.</summary>
    bool IsTransient(Exception error);

    /// <summary>
    /// Writes every row of <paramref name="chunks"/> in one transaction: all or none. A row of a chunk
    /// with a <see cref="RecordChunk.MessageId"/> whose (message id, index in the chunk) is stored
    /// already — by an earlier write, or by an earlier chunk of this one — is skipped, not stored again.
    /// </summary>
    /// <returns>How many rows were skipped so: zero for chunks without a message id.</returns>
    Task<int> WriteAsync(IReadOnlyList<RecordChunk> chunks, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes up to <paramref name="maxRows"/> sensor predictions and as many wafer verdicts made before <paramref name="cutoff"/>, and as many optimizer decisions decided before it; returns how many in all.
    /// A store that keeps predictions in blocks deletes whole blocks whose rows are all past the cutoff (at least one, however large); a return of 0 says nothing is left to delete.
    /// </summary>
    Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int maxRows, CancellationToken cancellationToken);

    /// <summary>Deletes the notifications delivered, and the alerts (with their timelines) resolved, before <paramref name="cutoff"/>; returns how many rows in all. The newest alert stays, however old: its id is where ids go on after a restart.</summary>
    Task<int> DeleteOldAlertsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>Newest first (by reading time, then id), up to <see cref="PredictionQuery.Limit"/>.</summary>
    Task<IReadOnlyList<StoredPrediction>> QueryAsync(PredictionQuery query, CancellationToken cancellationToken);

    /// <summary>Wafer verdicts, newest first (by when they were scored, then id), up to <see cref="WaferQuery.Limit"/>.</summary>
    Task<IReadOnlyList<StoredWafer>> QueryWafersAsync(WaferQuery query, CancellationToken cancellationToken);

    Task<IReadOnlyList<SummaryBucket>> SummarizeAsync(SummaryQuery query, CancellationToken cancellationToken);

    /// <summary>Keeps each of <paramref name="decisions"/> as it now stands, replacing the one saved before with its id, in one transaction: all or none.</summary>
    Task SaveDecisionsAsync(IReadOnlyList<OptimizerDecision> decisions, CancellationToken cancellationToken);

    /// <summary>The optimizer's decisions, newest first (by when they were decided, then id), up to <see cref="DecisionQuery.Limit"/>.</summary>
    Task<IReadOnlyList<OptimizerDecision>> QueryDecisionsAsync(DecisionQuery query, CancellationToken cancellationToken);

    /// <summary>Keeps an alert as it now stands, the step that changed it, and its notification to each of <paramref name="notify"/>, in one transaction.</summary>
    Task SaveAlertAsync(AlertChange change, IReadOnlyList<string> notify, CancellationToken cancellationToken);

    /// <summary>The open alerts and the <paramref name="recentResolved"/> last resolved, with their timelines; and the highest id ever given.</summary>
    Task<(IReadOnlyList<AlertView> Alerts, long LastId)> LoadAlertsAsync(int recentResolved, CancellationToken cancellationToken);

    /// <summary>Keeps a tool's state, replacing the one kept before.</summary>
    Task SaveToolStateAsync(ToolStateView state, CancellationToken cancellationToken);

    /// <summary>Every tool's state as last kept.</summary>
    Task<IReadOnlyList<ToolStateView>> LoadToolStatesAsync(CancellationToken cancellationToken);
}
