namespace RealTimeInference.Results.Storage;

/// <summary>Where predictions are kept: none, an embedded SQLite file, or PostgreSQL.</summary>
public enum ResultsStoreKind
{
    Sqlite,
    Postgres,
    None,
}

public sealed class ResultsOptions
{
    public const string Section = "Results";

    /// <summary><c>sqlite</c> (the default, an embedded file), <c>postgres</c> or <c>none</c>.</summary>
    public ResultsStoreKind Store { get; set; } = ResultsStoreKind.Sqlite;

    /// <summary>The SQLite file; a relative path is taken from the working directory.</summary>
    public string Path { get; set; } = "data/results.db";

    /// <summary>The PostgreSQL database, as an Npgsql connection string (for <c>postgres</c>).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Rows waiting to be written; past it new predictions' rows are dropped and counted.</summary>
    public int QueueCapacity { get; set; } = 200_000;

    /// <summary>
    /// How long the writer lets rows gather before a write that would be smaller than
    /// <see cref="WriteBatchRows"/>: one transaction per interval, not one per request. Zero: write at once.
    /// </summary>
    public TimeSpan WriteInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Most rows one write (one transaction) takes.</summary>
    public int WriteBatchRows { get; set; } = 50_000;

    /// <summary>Tries of one write before its rows are dropped (counted as <c>store_error</c>).</summary>
    public int WriteAttempts { get; set; } = 5;

    /// <summary>How long a prediction is kept, counted from when it was made.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often older predictions are deleted.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromMinutes(10);
}
