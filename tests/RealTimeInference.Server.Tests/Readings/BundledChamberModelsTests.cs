using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RealTimeInference.Fab.Chambers;
using RealTimeInference.Fab.Traces;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Server.Tests.Readings;

/// <summary>The server as shipped: its default routing sends the simulated cluster tools' readings and traces to their chambers' bundled FDC models.</summary>
public sealed class BundledChamberModelsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private static WaferTrace Wafer(int chamber, bool faulty) =>
        ChamberTraces.Collect(new ChamberSimulator(new ChamberSimulatorOptions { FaultRate = 0.01, Seed = 77 }).Generate(chamber, 200 * 60))
            .First(w => w.Faulty == faulty);

    /// <summary>The model's own answer for one row of features, through the Open Inference Protocol.</summary>
    private async Task<float> InferAsync(string model, float[] features)
    {
        var request = new { inputs = new[] { new { name = "Features", datatype = "FP32", shape = new[] { 1, features.Length }, data = features } } };
        var response = await _client.PostAsJsonAsync($"/v2/models/{model}/infer", request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outputs")[0].GetProperty("data")[0].GetSingle();
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, true)]
    public async Task AWafersTrace_GoesToItsChambersTraceModel_ScoredOnTheStepStatisticsItWasTrainedOn(int chamber, bool faulty)
    {
        var wafer = Wafer(chamber, faulty);
        var context = new { tool_id = wafer.First.ToolId, chamber_id = wafer.First.ChamberId, recipe = wafer.First.Recipe, lot_id = wafer.First.LotId, wafer_id = wafer.First.WaferId };
        var trace = new
        {
            context,
            interval_s = wafer.Trace.IntervalS,
            steps = wafer.Trace.Steps.Select(s => new { name = s.Name, start_s = s.StartS, end_s = s.EndS }),
            sensors = wafer.Trace.Sensors,
        };

        var response = await _client.PostAsJsonAsync("/traces", trace);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.True(response.StatusCode == HttpStatusCode.OK, answer.GetRawText());
        var model = $"fdc-trace-{wafer.First.ToolId}-{wafer.First.ChamberId}";
        Assert.Equal(model, answer.GetProperty("model").GetString());
        var manifest = ModelManifest.Load(Path.Combine(AppContext.BaseDirectory, "models", model, ModelManifest.FileName));
        var features = manifest.Input!.Features.Select(f => (float)StepStatistics.Compute(wafer.Trace, f, out _)!.Value).ToArray();
        Assert.Equal(await InferAsync(model, features), answer.GetProperty("prediction").GetSingle(), 1e-6f);
    }

    [Fact]
    public async Task AChambersReading_GoesToItsChambersReadingModel()
    {
        var reading = new ChamberSimulator(new ChamberSimulatorOptions { FaultRate = 0 }).Generate(4, 1).Single();
        var body = new
        {
            context = new { tool_id = reading.ToolId, chamber_id = reading.ChamberId, recipe = reading.Recipe, step = reading.Step },
            values = reading.Sensors.Zip(reading.Values).ToDictionary(p => p.First, p => p.Second),
        };

        var answer = await (await _client.PostAsJsonAsync("/readings", body)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("fdc-etch-02-B", answer.GetProperty("model").GetString());
        Assert.Equal(await InferAsync("fdc-etch-02-B", reading.Values), answer.GetProperty("prediction").GetSingle(), 1e-6f);
    }
}
