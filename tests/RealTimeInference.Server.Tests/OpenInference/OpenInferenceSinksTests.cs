using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RealTimeInference.Results.Storage;
using static RealTimeInference.Server.Tests.OpenInference.OpenInferenceRestTests;

namespace RealTimeInference.Server.Tests.OpenInference;

/// <summary>V2 sensor predictions reach the prediction sinks as /predict-batch's do: here, the results store.</summary>
public sealed class OpenInferenceSinksTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly HttpClient _client = server.CreateClient();
    private readonly MetricCollector<long> _written = new(server.Services.GetRequiredService<IMeterFactory>(), ResultsMetrics.MeterName, "written_total");

    public void Dispose() => _written.Dispose();

    [Fact]
    public async Task InferredReadings_AreStored_WithTheirScores()
    {
        var body = $$"""{"inputs":[{"name":"Features","shape":[{{Rows.Length}},3],"datatype":"FP32","data":[{{Flat(Rows)}}]}]}""";
        var response = await _client.PostAsync("/v2/models/sensor-anomaly/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var scores = Data(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);

        while (_written.GetMeasurementSnapshot() is var snapshot && snapshot.Sum(m => m.Value) < Rows.Length)
        {
            await _written.WaitForMeasurementsAsync(snapshot.Count + 1, TimeSpan.FromSeconds(10));
        }

        var stored = JsonDocument.Parse(await _client.GetStringAsync($"/predictions?limit={Rows.Length}")).RootElement.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(Rows.Length, stored.Length);
        Assert.All(stored, item => Assert.Equal("http", item.GetProperty("source").GetString()));
        Assert.All(stored, item => Assert.Equal("sensor-anomaly", item.GetProperty("model").GetString()));
        Assert.Equal(scores.Order(), stored.Select(item => item.GetProperty("prediction").GetSingle()).Order());
    }
}
