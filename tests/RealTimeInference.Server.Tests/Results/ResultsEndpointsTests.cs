using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RealTimeInference.Results.Storage;

namespace RealTimeInference.Server.Tests.Results;

/// <summary>Every prediction is stored, off the request's path, and can be asked for again; the same with each store.</summary>
public abstract class ResultsEndpointsTests(ServerFixture server) : IDisposable
{
    private readonly HttpClient _client = server.CreateClient();
    private readonly MetricCollector<long> _written = new(
        server.Services.GetRequiredService<IMeterFactory>(), ResultsMetrics.MeterName, "written_total");

    public void Dispose() => _written.Dispose();

    /// <summary>Waits until the writer has written <paramref name="rows"/> more rows than before the test.</summary>
    private async Task WaitWrittenAsync(long rows)
    {
        // One snapshot for both the sum and the count: a measurement between two snapshots would be waited for twice.
        while (_written.GetMeasurementSnapshot() is var snapshot && snapshot.Sum(m => m.Value) < rows)
        {
            await _written.WaitForMeasurementsAsync(snapshot.Count + 1, TimeSpan.FromSeconds(10));
        }
    }

    private static object Reading(string tool, string sensor, float temperature) =>
        new { tool_id = tool, sensor_id = sensor, timestamp = "2026-11-30T10:00:00Z", temperature, pressure = 1013.0, flow_rate = 100.0 };

    private async Task<JsonElement> GetAsync(string url)
    {
        var response = await _client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task Predictions_AreStoredWithTheirAnswer_AndPagedNewestFirst()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        var single = await (await _client.PostAsJsonAsync("/predict", Reading(tool, "s1", 350))).Content.ReadFromJsonAsync<JsonElement>();
        var batch = await _client.PostAsJsonAsync("/predict-batch", Enumerable.Range(0, 4).Select(i => Reading(tool, "s2", 351 + i)).ToArray());
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        await WaitWrittenAsync(5);

        var first = await GetAsync($"/predictions?tool_id={tool}&limit=2");
        var second = await GetAsync($"/predictions?tool_id={tool}&limit=2&cursor={first.GetProperty("next_cursor").GetString()}");
        var third = await GetAsync($"/predictions?tool_id={tool}&limit=2&cursor={second.GetProperty("next_cursor").GetString()}");
        var items = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).Concat(third.GetProperty("items").EnumerateArray()).ToList();

        Assert.Equal(5, items.Count);
        Assert.Equal(JsonValueKind.Null, third.GetProperty("next_cursor").ValueKind);
        // Same reading time for all: newest first falls back to the store's order, the batch's last reading first.
        Assert.Equal([354, 353, 352, 351, 350], items.Select(i => i.GetProperty("reading").GetProperty("temperature").GetSingle()));
        var stored = items[^1];
        Assert.Equal(single.GetProperty("prediction").GetSingle(), stored.GetProperty("prediction").GetSingle());
        Assert.Equal(single.GetProperty("is_anomaly").GetBoolean(), stored.GetProperty("is_anomaly").GetBoolean());
        Assert.Equal("http", stored.GetProperty("source").GetString());
        Assert.Equal("s1", stored.GetProperty("sensor_id").GetString());
        Assert.Equal("sensor-anomaly", stored.GetProperty("model").GetString());
        Assert.Equal("process-control", stored.GetProperty("latency_class").GetString());
        Assert.Equal("2026-11-30T10:00:00Z", stored.GetProperty("timestamp").GetString());
        Assert.True(stored.GetProperty("latency_ms").GetDouble() > 0);
        Assert.False(string.IsNullOrEmpty(stored.GetProperty("request_id").GetString()));
        // One request id for the whole batch, another for the single reading.
        Assert.Equal(2, items.Select(i => i.GetProperty("request_id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task Summary_CountsPerSensorAndBucket()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        var readings = new[] { Reading(tool, "a", 350), Reading(tool, "a", 351), Reading(tool, "b", 352) };
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsJsonAsync("/predict-batch", readings)).StatusCode);
        await WaitWrittenAsync(3);

        var summary = await GetAsync($"/predictions/summary?tool_id={tool}&from=2026-11-30T09:00:00Z&to=2026-11-30T11:00:00Z&bucket=1h");

        var items = summary.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["a", "b"], items.Select(i => i.GetProperty("sensor_id").GetString()));
        Assert.Equal([2L, 1L], items.Select(i => i.GetProperty("count").GetInt64()));
        Assert.All(items, i => Assert.Equal("2026-11-30T10:00:00Z", i.GetProperty("bucket_start").GetString()));
        Assert.All(items, i => Assert.True(i.GetProperty("max_prediction").GetDouble() >= i.GetProperty("mean_prediction").GetDouble()));
    }

    [Theory]
    [InlineData("/predictions?limit=0", "limit")]
    [InlineData("/predictions?limit=1001", "limit")]
    [InlineData("/predictions?limit=ten", "limit")]
    [InlineData("/predictions?from=yesterday", "from")]
    [InlineData("/predictions?to=2026-13-01T00:00:00Z", "to")]
    [InlineData("/predictions?anomalies_only=maybe", "anomalies_only")]
    [InlineData("/predictions?cursor=not-a-cursor", "cursor")]
    [InlineData("/predictions?tool_id=a&tool_id=b", "tool_id")]
    [InlineData("/predictions/summary?bucket=5x", "bucket")]
    [InlineData("/predictions/summary?bucket=0m", "bucket")]
    [InlineData("/predictions/summary?bucket=1s&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z", "bucket")]
    [InlineData("/predictions/summary?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from")]
    public async Task Query_WithABadParameter_Returns400NamingIt(string url, string parameter)
    {
        var response = await _client.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(parameter, out _), await response.Content.ReadAsStringAsync());
    }
}

public sealed class SqliteResultsEndpointsTests(ServerFixture server) : ResultsEndpointsTests(server), IClassFixture<ServerFixture>;

public sealed class PostgresResultsEndpointsTests(PostgresStoreFixture server) : ResultsEndpointsTests(server), IClassFixture<PostgresStoreFixture>;

/// <summary>A server told to keep no results.</summary>
public sealed class NoResultsServerFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Results:Store", "none")];
}

public sealed class NoResultsStoreTests(NoResultsServerFixture server) : IClassFixture<NoResultsServerFixture>
{
    [Fact]
    public async Task WithStoreNone_PredictionsAreAnswered_NothingIsStored_AndQueriesAre404()
    {
        var client = server.CreateClient();

        var predicted = await client.PostAsJsonAsync("/predict", new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 });
        var query = await client.GetAsync("/predictions");

        Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, query.StatusCode);
        Assert.Null(server.Services.GetRequiredService<ResultsStoreChoice>().Store);
        Assert.False(File.Exists(server.ResultsPath));
    }
}

/// <summary>A results queue of 300 rows: concurrent batches outrun it.</summary>
public sealed class SmallResultsQueueServerFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Results:QueueCapacity", "300")];
}

public sealed class ResultsAccountingTests(SmallResultsQueueServerFixture server) : IClassFixture<SmallResultsQueueServerFixture>
{
    [Fact]
    public async Task UnderLoad_EveryPredictionIsWrittenOrCountedAsDropped()
    {
        var meters = server.Services.GetRequiredService<IMeterFactory>();
        using var written = new MetricCollector<long>(meters, ResultsMetrics.MeterName, "written_total");
        using var dropped = new MetricCollector<long>(meters, ResultsMetrics.MeterName, "dropped_total");
        var client = server.CreateClient();
        var batch = Enumerable.Range(0, 50).Select(i => new { tool_id = "load", temperature = 350 + (i % 10), pressure = 1013.0, flow_rate = 100.0 }).ToArray();

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.PostAsJsonAsync("/predict-batch", batch)));
        var predicted = responses.Count(r => r.StatusCode == HttpStatusCode.OK) * batch.Length;
        // Drops are counted before the answers go out; the writes are waited for, one snapshot at a time.
        var droppedRows = dropped.GetMeasurementSnapshot().Sum(m => m.Value);
        while (written.GetMeasurementSnapshot() is var snapshot && snapshot.Sum(m => m.Value) + droppedRows < predicted)
        {
            await written.WaitForMeasurementsAsync(snapshot.Count + 1, TimeSpan.FromSeconds(10));
        }

        long Accounted() => written.GetMeasurementSnapshot().Sum(m => m.Value) + dropped.GetMeasurementSnapshot().Sum(m => m.Value);

        Assert.True(predicted > 0);
        Assert.Equal(predicted, Accounted());
    }
}

/// <summary>Wafer verdicts are stored too: the verdict, its probabilities and the image's SHA-256, not the image.</summary>
public sealed class WaferResultsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task AWaferVerdict_IsStoredWithItsImagesHash()
    {
        using var written = new MetricCollector<long>(server.Services.GetRequiredService<IMeterFactory>(), ResultsMetrics.MeterName, "written_total");
        var image = Wafers.WaferImages.Png(RealTimeInference.Fab.Wafers.WaferPattern.Center, seed: 7);
        var (response, verdict) = await Wafers.WaferEndpointTests.PostAsync(server.CreateClient(), Wafers.WaferEndpointTests.Image(image));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await written.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));

        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(image));
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={server.ResultsPath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT defect_type, defect_detected, confidence, class_probabilities, source, latency_class, request_id FROM wafer_predictions WHERE image_sha256 = $hash";
        command.Parameters.AddWithValue("$hash", hash);
        using var row = command.ExecuteReader();
        Assert.True(row.Read(), "No stored verdict has the image's hash.");
        Assert.Equal(verdict.GetProperty("defect_type").GetString(), row.GetString(0));
        Assert.Equal(verdict.GetProperty("defect_detected").GetBoolean(), row.GetBoolean(1));
        Assert.Equal(verdict.GetProperty("confidence").GetSingle(), row.GetFloat(2));
        using var probabilities = JsonDocument.Parse(row.GetString(3));
        Assert.Equal(
            verdict.GetProperty("class_probabilities").EnumerateObject().Select(p => (p.Name, p.Value.GetSingle())),
            probabilities.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetSingle())));
        Assert.Equal(("http", "defect-detection"), (row.GetString(4), row.GetString(5)));
        Assert.False(string.IsNullOrEmpty(row.GetString(6)));
        Assert.False(row.Read());

        var page = await server.CreateClient().GetFromJsonAsync<JsonElement>("/wafer-predictions?defects_only=true&limit=1000");
        var item = Assert.Single(page.GetProperty("items").EnumerateArray(), i => i.GetProperty("image_sha256").GetString() == hash);
        Assert.Equal(verdict.GetProperty("defect_type").GetString(), item.GetProperty("defect_type").GetString());
        Assert.Equal(verdict.GetProperty("class_probabilities").GetProperty("center").GetSingle(), item.GetProperty("class_probabilities").GetProperty("center").GetSingle());
        Assert.Equal(HttpStatusCode.BadRequest, (await server.CreateClient().GetAsync("/wafer-predictions?defects_only=maybe")).StatusCode);
    }
}
