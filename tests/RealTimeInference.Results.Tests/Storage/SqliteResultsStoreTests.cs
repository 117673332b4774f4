using Microsoft.Data.Sqlite;
using RealTimeInference.Results.Storage;
using static RealTimeInference.Results.Tests.Storage.StoreFolder;

namespace RealTimeInference.Results.Tests.Storage;

public sealed class SqliteResultsStoreTests : ResultsStoreContract
{
    private readonly StoreFolder _folder = new();

    protected override IResultsStore Open() => new SqliteResultsStore(_folder.File);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task DeleteOlderThan_RemovesOnlyOldPredictions_AtMostTheGivenRows()
    {
        var old = Enumerable.Range(0, 5).Select(i => Row(predictedAt: T0.AddDays(-8), request: $"old{i}"));
        await Store.WriteAsync([Chunk([.. old, Row(predictedAt: T0, request: "recent")])], CancellationToken.None);

        Assert.Equal(3, await Store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(2, await Store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(0, await Store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(["recent"], (await Query()).Select(p => p.Record.RequestId));
    }

    [Fact]
    public void Initialize_WhereTheFileCannotBeCreated_FailsNamingTheSetting()
    {
        // A file where the store's folder should be: no directory can be made there.
        File.WriteAllText(Path.Combine(_folder.Path, "blocker"), "");
        using var store = new SqliteResultsStore(Path.Combine(_folder.Path, "blocker", "results.db"));

        var error = Assert.Throws<InvalidOperationException>(store.Initialize);

        Assert.Contains("Results:Path", error.Message, StringComparison.Ordinal);
    }

    protected override Task<long> CountAsync(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_folder.File};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Task.FromResult((long)command.ExecuteScalar()!);
    }
}
