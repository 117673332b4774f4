using Npgsql;
using RealTimeInference.Results.Storage;
using static RealTimeInference.Results.Tests.Storage.StoreFolder;

namespace RealTimeInference.Results.Tests.Storage;

/// <summary>The store contract and PostgreSQL's own behaviour, against a real PostgreSQL 15 (a database per test).</summary>
public sealed class PostgresResultsStoreTests(PostgresServer postgres) : ResultsStoreContract, IClassFixture<PostgresServer>
{
    private string _database = "";

    public override async Task InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync();
        await base.InitializeAsync();
    }

    protected override IResultsStore Open() => new PostgresResultsStore(_database);

    [Fact]
    public async Task Retention_DropsWholeDayPartitions_OnceTheirDayHasPassedTheCutoff()
    {
        var cutoff = T0.AddDays(-7);
        var rows = new[]
        {
            Row(predictedAt: T0.AddDays(-9), request: "nine days"),
            Row(predictedAt: T0.AddDays(-8), request: "eight days"),
            Row(predictedAt: T0.AddDays(-8).AddHours(1), request: "eight days too"),
            Row(predictedAt: cutoff.AddHours(-1), request: "older than the cutoff, on its day"),
            Row(predictedAt: T0, request: "today"),
        };
        await Store.WriteAsync([Chunk(rows)], CancellationToken.None);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM pg_class WHERE relname = 'predictions_p20261122'"));

        Assert.Equal(3, await Store.DeleteOlderThanAsync(cutoff, 1, CancellationToken.None));
        Assert.Equal(0, await Store.DeleteOlderThanAsync(cutoff, 1, CancellationToken.None));

        Assert.Equal(["today", "older than the cutoff, on its day"], (await Query()).Select(p => p.Record.RequestId));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM pg_class WHERE relname IN ('predictions_p20261121', 'predictions_p20261122')"));
        // A day written to again after its partition went gets a new one.
        await Store.WriteAsync([Chunk(Row(predictedAt: T0.AddDays(-8), request: "late"))], CancellationToken.None);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM predictions_p20261122"));
    }

    [Fact]
    public async Task Retention_DeletesTheKeysOfMessagesWhoseDayPartitionGoes_AllOfThem_NoneOfTheDaysKept()
    {
        var cutoff = T0.AddDays(-7);
        var old = Enumerable.Range(0, 5).Select(i => Row(predictedAt: T0.AddDays(-9), request: $"old{i}")).ToArray();
        await Store.WriteAsync(
            [MessageChunk("m-old", old), MessageChunk("m-on-the-cutoffs-day", Row(predictedAt: cutoff.AddHours(-1))), MessageChunk("m-today", Row())],
            CancellationToken.None);
        Assert.Equal(7, await CountAsync("SELECT count(*) FROM ingested_messages"));

        // Two keys a statement, over and over: all five of the dropped day's go in one pass.
        Assert.Equal(5, await Store.DeleteOlderThanAsync(cutoff, 2, CancellationToken.None));

        Assert.Equal(0, await CountAsync("SELECT count(*) FROM ingested_messages WHERE message_id = 'm-old'"));
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM ingested_messages"));
    }

    [Fact]
    public async Task EachDay_HasItsPartition_AndTheNextDaysIsMadeAhead()
    {
        await Store.WriteAsync([Chunk(Row(predictedAt: T0))], CancellationToken.None);

        Assert.Equal(1, await CountAsync("SELECT count(*) FROM predictions_p20261130"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM predictions_p20261201"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM wafer_predictions_p20261201"));
    }

    [Fact]
    public async Task TwoServersStartingTogether_ApplyTheSchemaOnce()
    {
        using var second = Open();
        using var third = Open();

        await Task.WhenAll(Task.Run(second.Initialize), Task.Run(third.Initialize));

        // Each version once: as many rows as versions.
        Assert.Equal(await CountAsync("SELECT max(version) FROM schema_version"), await CountAsync("SELECT count(*) FROM schema_version"));
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=1;Timeout=2")]
    [InlineData("Host=127.0.0.1;Port=not-a-port")]
    [InlineData("Host=127.0.0.1;Username=postgres;Database=no_such_database;Password=secret-in-the-string")]
    public void Initialize_WithABadConnectionString_FailsNamingTheSetting_NeverItsPassword(string connectionString)
    {
        var bad = connectionString.Contains("no_such_database", StringComparison.Ordinal) ? connectionString + $";Port={postgres.Port}" : connectionString;
        using var store = new PostgresResultsStore(bad);

        var error = Assert.Throws<InvalidOperationException>(store.Initialize);

        Assert.Contains("Results:ConnectionString", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-in-the-string", error.Message, StringComparison.Ordinal);
    }

    protected override string MessageKeys => "predictions";

    protected override async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
