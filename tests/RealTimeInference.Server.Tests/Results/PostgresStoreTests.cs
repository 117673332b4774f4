using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Npgsql;
using RealTimeInference.Results.Storage;
using RealTimeInference.Results.Tests.Storage;

namespace RealTimeInference.Server.Tests.Results;

/// <summary>The server keeping its results in a real PostgreSQL 15, started before it and stopped after.</summary>
public sealed class PostgresStoreFixture : ServerFixture, IAsyncLifetime
{
    public PostgresServer Postgres { get; } = new();

    public string ConnectionString { get; private set; } = "";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Results:Store", "postgres"), new("Results:ConnectionString", ConnectionString)];

    public async Task InitializeAsync()
    {
        await Postgres.InitializeAsync();
        ConnectionString = await Postgres.CreateDatabaseAsync();
    }

    public new async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}

public sealed class PostgresOutageTests(PostgresStoreFixture server) : IClassFixture<PostgresStoreFixture>
{
    [Fact]
    public async Task PostgresStoppedForThirtySecondsUnderLoad_PredictKeepsAnswering_AndEveryRowIsWrittenOrCounted()
    {
        var meters = server.Services.GetRequiredService<IMeterFactory>();
        using var written = new MetricCollector<long>(meters, ResultsMetrics.MeterName, "written_total");
        using var dropped = new MetricCollector<long>(meters, ResultsMetrics.MeterName, "dropped_total");
        var client = server.CreateClient();
        var tool = "outage-" + Guid.NewGuid().ToString("N")[..8];
        var batch = Enumerable.Range(0, 20).Select(i => new { tool_id = tool, sensor_id = $"s{i}", temperature = 340.0 + i, pressure = 1013.0, flow_rate = 100.0 }).ToArray();
        var answered = 0L;
        var refused = new List<HttpStatusCode>();
        using var load = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!load.IsCancellationRequested)
            {
                var response = await client.PostAsJsonAsync("/predict-batch", batch);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Add(ref answered, batch.Length);
                }
                else
                {
                    lock (refused)
                    {
                        refused.Add(response.StatusCode);
                    }
                }

                // About 1,600 readings a second in all: a fab's load, not the machine's limit (other tests run beside this one).
                await Task.Delay(50);
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(2));
        await server.Postgres.StopAsync();
        var duringOutage = Interlocked.Read(ref answered);
        await Task.Delay(TimeSpan.FromSeconds(30));
        var afterOutage = Interlocked.Read(ref answered);
        await server.Postgres.StartAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await load.CancelAsync();
        await Task.WhenAll(clients);

        Assert.Empty(refused);
        Assert.True(afterOutage > duringOutage, "No prediction was answered while PostgreSQL was stopped.");
        // Everything answered is written once PostgreSQL is back, or counted as dropped: nothing uncounted.
        long Accounted() => written.GetMeasurementSnapshot().Sum(m => m.Value) + dropped.GetMeasurementSnapshot().Sum(m => m.Value);
        while (written.GetMeasurementSnapshot() is var snapshot && snapshot.Sum(m => m.Value) + dropped.GetMeasurementSnapshot().Sum(m => m.Value) < answered)
        {
            await written.WaitForMeasurementsAsync(snapshot.Count + 1, TimeSpan.FromSeconds(30));
        }

        Assert.Equal(answered, Accounted());
        // The queue (200,000 rows) holds the 30 s outage's rows: they waited for PostgreSQL instead of being dropped.
        Assert.Equal(0, dropped.GetMeasurementSnapshot().Sum(m => m.Value));
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM predictions WHERE tool_id = '{tool}'", connection);
        Assert.Equal(written.GetMeasurementSnapshot().Sum(m => m.Value), (long)(await count.ExecuteScalarAsync())!);
    }
}
