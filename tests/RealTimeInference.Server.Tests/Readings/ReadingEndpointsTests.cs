using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Tests.Sockets;
using RealTimeInference.Server.Tests.Streaming;

namespace RealTimeInference.Server.Tests.Readings;

/// <summary>
/// A repository of per-chamber models (PyTorch's 12-sensor MLP under each chamber's name) beside the
/// bundled sensor models, and rules that route etch tools to their chamber's model and one litho tool
/// to the seed's sensor model.
/// </summary>
public sealed class ChamberModelsFixture : ServerFixture
{
    public static readonly string[] Chambers = ["fdc-etch-01-A", "fdc-etch-01-B"];

    public static readonly string[] TraceFeatures =
    [
        "main-etch:rf_power:mean", "main-etch:rf_power:std", "main-etch:rf_power:min", "main-etch:rf_power:max", "main-etch:rf_power:slope", "main-etch:duration",
        "over-etch:chuck_temp:mean", "over-etch:chuck_temp:std", "over-etch:chuck_temp:min", "over-etch:chuck_temp:max", "over-etch:chuck_temp:slope", "over-etch:duration",
    ];

    public ChamberModelsFixture()
    {
        var foreign = Path.Combine(AppContext.BaseDirectory, "ForeignModels", "fab-sensor-mlp");
        foreach (var chamber in Chambers)
        {
            Copy(foreign, Path.Combine(Repository, chamber));
        }

        // The same graph as a trace model: its twelve inputs are step statistics.
        Copy(foreign, Path.Combine(Repository, "trace-etch"));
        File.WriteAllText(
            Path.Combine(Repository, "trace-etch", "model.json"),
            JsonSerializer.Serialize(new { inputs = new[] { new { name = "sensors", features = TraceFeatures } }, threshold = 0.7 }));

        foreach (var bundled in new[] { "sensor-anomaly", "sensor-anomaly-lite" })
        {
            Copy(Path.Combine(AppContext.BaseDirectory, "models", bundled), Path.Combine(Repository, bundled));
        }

        // The seed's sensor model two readings a run: a request's readings of one chamber take several runs.
        Copy(Path.Combine(AppContext.BaseDirectory, "models", "sensor-anomaly"), Path.Combine(Repository, "sensor-anomaly-pairs"));
        var manifest = Path.Combine(Repository, "sensor-anomaly-pairs", "model.json");
        var pairs = JsonNode.Parse(File.ReadAllText(manifest))!;
        pairs["name"] = "sensor-anomaly-pairs";
        pairs["batching"]!["max_batch_size"] = 2;
        File.WriteAllText(manifest, pairs.ToJsonString());

        ModelsPath = Repository;
    }

    public string Repository { get; } = Path.Combine(Path.GetTempPath(), "rti-chambers-" + Guid.NewGuid().ToString("N"));

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Inference:LoadOnFirstUse", "true"),
        new("Routing:Rules:0:Tool", "etch-*"),
        new("Routing:Rules:0:Model", "fdc-{tool}-{chamber}"),
        new("Routing:Rules:1:Tool", "litho-01"),
        new("Routing:Rules:1:Model", "sensor-anomaly"),
        new("Routing:Rules:2:Tool", "trace-*"),
        new("Routing:Rules:2:Model", "trace-etch"),
        new("Routing:Rules:3:Tool", "litho-02"),
        new("Routing:Rules:3:Model", "sensor-anomaly-pairs"),
        new("Spc:Monitors:0:Value", "temperature"),
        new("Spc:Monitors:0:Tool", "litho-0*"),
        new("Spc:Monitors:0:Mean", "350"),
        new("Spc:Monitors:0:Sigma", "5"),
    ];

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(Repository))
        {
            Directory.Delete(Repository, recursive: true);
        }
    }

    private static void Copy(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

/// <summary><c>POST /readings</c>: routed by context to the chamber's own model, its sensors by name, every fault named, and stored with its context.</summary>
public sealed class ReadingEndpointsTests(ChamberModelsFixture server) : IClassFixture<ChamberModelsFixture>, IDisposable
{
    private static readonly string[] Sensors =
        ["rf_power", "reflected_power", "chuck_temp", "wall_temp", "he_flow", "he_pressure",
         "throttle_position", "chamber_pressure", "ar_flow", "o2_flow", "bias_voltage", "endpoint_signal"];

    private readonly HttpClient _client = server.CreateClient();
    private readonly MetricCollector<long> _written = new(server.Services.GetRequiredService<IMeterFactory>(), ResultsMetrics.MeterName, "written_total");

    public void Dispose() => _written.Dispose();

    private static Dictionary<string, float> Values(float offset) => Sensors.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => (p.i * 0.1f) - 0.5f + offset);

    private static object Reading(string tool, string? chamber, object values, string? step = "main-etch", string? wafer = "w01") => new
    {
        timestamp = "2026-12-07T08:00:00Z",
        context = new { tool_id = tool, chamber_id = chamber, recipe = "poly-etch", step, lot_id = "lot-7", wafer_id = wafer },
        values,
    };

    private async Task<JsonElement> PostAsync(object body, HttpStatusCode expected)
    {
        var response = await _client.PostAsJsonAsync("/readings", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The model's own answer for one row, through the Open Inference Protocol.</summary>
    private async Task<float> InferAsync(string model, Dictionary<string, float> values)
    {
        var request = new
        {
            inputs = new[] { new { name = "sensors", datatype = "FP32", shape = new[] { 1, Sensors.Length }, data = Sensors.Select(s => values[s]).ToArray() } },
        };
        var answer = await (await _client.PostAsJsonAsync($"/v2/models/{model}/infer", request)).Content.ReadFromJsonAsync<JsonElement>();
        return answer.GetProperty("outputs")[0].GetProperty("data")[0].GetSingle();
    }

    [Fact]
    public async Task OneReading_IsScoredByItsChambersModel_LoadedOnFirstUse_AsThatModelAnswersItself()
    {
        var values = Values(0.25f);
        var answer = await PostAsync(Reading("etch-01", "A", values), HttpStatusCode.OK);

        Assert.Equal("fdc-etch-01-A", answer.GetProperty("model").GetString());
        Assert.Equal(await InferAsync("fdc-etch-01-A", values), answer.GetProperty("prediction").GetSingle(), 1e-6f);
        Assert.Equal(answer.GetProperty("prediction").GetSingle() >= 0.7f, answer.GetProperty("is_anomaly").GetBoolean());
        Assert.Equal("A", answer.GetProperty("context").GetProperty("chamber_id").GetString());
        Assert.Equal("2026-12-07T08:00:00Z", answer.GetProperty("timestamp").GetString());
        Assert.False(answer.GetProperty("fallback").GetBoolean());
        Assert.True(answer.GetProperty("latency_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task AnArray_IsRoutedPerReading_ToEachChambersModel_AndTheSeedsSensorModel()
    {
        var seed = new Dictionary<string, float> { ["temperature"] = 450, ["pressure"] = 1013, ["flow_rate"] = 100 };
        var answer = await PostAsync(
            new[] { Reading("etch-01", "A", Values(0)), Reading("etch-01", "B", Values(1)), Reading("litho-01", null, seed), Reading("etch-01", "A", Values(2)) },
            HttpStatusCode.OK);

        var results = answer.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(4, answer.GetProperty("count").GetInt32());
        Assert.Equal(["fdc-etch-01-A", "fdc-etch-01-B", "sensor-anomaly", "fdc-etch-01-A"], results.Select(r => r.GetProperty("model").GetString()));
        Assert.Equal(await InferAsync("fdc-etch-01-B", Values(1)), results[1].GetProperty("prediction").GetSingle(), 1e-6f);
        Assert.Equal(await InferAsync("fdc-etch-01-A", Values(2)), results[3].GetProperty("prediction").GetSingle(), 1e-6f);

        // The seed's reading as a reading with context: the same score /predict gives.
        var predict = await (await _client.PostAsJsonAsync("/predict", new { temperature = 450, pressure = 1013, flow_rate = 100 })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(predict.GetProperty("prediction").GetSingle(), results[2].GetProperty("prediction").GetSingle(), 1e-6f);
        Assert.Equal(
            [.. results.Select((r, i) => (r, i)).Where(p => p.r.GetProperty("is_anomaly").GetBoolean()).Select(p => p.i)],
            answer.GetProperty("anomalies").EnumerateArray().Select(a => a.GetInt32()));
    }

    [Fact]
    public async Task OverTheReadingsSocket_ReadingsAreRoutedAndAnsweredInOrder_AndFaultsNamedWithoutClosingIt()
    {
        using var socket = await server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, "ws/readings"), CancellationToken.None);

        await socket.SendTextAsync(JsonSerializer.Serialize(Reading("etch-01", "B", Values(0.5f))));
        await socket.SendTextAsync(JsonSerializer.Serialize(new[] { Reading("etch-01", "A", Values(0)), Reading("etch-01", "B", Values(1)) }));
        await socket.SendTextAsync(JsonSerializer.Serialize(Reading("unknown-07", "A", Values(0))));
        await socket.SendAsync(new byte[16], System.Net.WebSockets.WebSocketMessageType.Binary, true, CancellationToken.None);
        await socket.SendTextAsync(JsonSerializer.Serialize(Reading("etch-01", "A", Values(0).Where(v => v.Key != "he_flow").ToDictionary())));

        var one = await socket.ReceiveJsonAsync();
        Assert.Equal("fdc-etch-01-B", one.GetProperty("model").GetString());
        Assert.Equal(await InferAsync("fdc-etch-01-B", Values(0.5f)), one.GetProperty("prediction").GetSingle(), 1e-6f);
        var many = await socket.ReceiveJsonAsync();
        Assert.Equal(["fdc-etch-01-A", "fdc-etch-01-B"], many.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("model").GetString()));
        var unrouted = await socket.ReceiveJsonAsync();
        Assert.Equal("no_route", unrouted.GetProperty("error").GetString());
        Assert.Contains("tool_id=unknown-07", unrouted.GetRawText(), StringComparison.Ordinal);
        var binary = await socket.ReceiveJsonAsync();
        Assert.Equal("invalid_message", binary.GetProperty("error").GetString());
        Assert.Contains("/ws/predict", binary.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var missing = await socket.ReceiveJsonAsync();
        Assert.Equal("values.he_flow", missing.GetProperty("field").GetString());
    }

    [Fact]
    public async Task AContextNoRuleRoutes_Is422NamingItsContext_AndNothingIsScored()
    {
        var problem = await PostAsync(new[] { Reading("etch-01", "A", Values(0)), Reading("cmp-03", "C", Values(0)) }, HttpStatusCode.UnprocessableEntity);

        Assert.Equal("No model for this context", problem.GetProperty("title").GetString());
        var message = Assert.Single(problem.GetProperty("errors").GetProperty("[1].context").EnumerateArray()).GetString();
        Assert.Contains("tool_id=cmp-03, chamber_id=C, recipe=poly-etch", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AContextRoutedToAModelNotServed_Is422NamingTheModel()
    {
        var problem = await PostAsync(Reading("etch-01", "Z", Values(0)), HttpStatusCode.UnprocessableEntity);

        Assert.Contains("'fdc-etch-01-Z', which is not served", problem.GetProperty("errors").GetProperty("context")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingAndExtraSensors_Are400_NamingEach()
    {
        var values = Values(0);
        values.Remove("he_flow");
        values.Remove("o2_flow");
        values["rf_power_typo"] = 1;
        var problem = await PostAsync(new[] { Reading("etch-01", "A", Values(0)), Reading("etch-01", "A", values) }, HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        Assert.Equal(["[1].values.he_flow", "[1].values.o2_flow", "[1].values.rf_power_typo"], errors.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Contains("is required by model 'fdc-etch-01-A'", errors.GetProperty("[1].values.he_flow")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("is not a sensor of model 'fdc-etch-01-A'", errors.GetProperty("[1].values.rf_power_typo")[0].GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"values":{"a":1}}""", "context")]
    [InlineData("""{"context":{"chamber_id":"A"},"values":{"a":1}}""", "context.tool_id")]
    [InlineData("""{"context":{"tool_id":"etch-01","chamber":"A"},"values":{"a":1}}""", "context.chamber")]
    [InlineData("""{"context":{"tool_id":"etch-01"}}""", "values")]
    [InlineData("""{"context":{"tool_id":"etch-01"},"values":{}}""", "values")]
    [InlineData("""{"context":{"tool_id":"etch-01"},"values":{"a":"1"}}""", "values.a")]
    [InlineData("""{"context":{"tool_id":"etch-01"},"values":{"a":1,"a":2}}""", "values.a")]
    [InlineData("""{"context":{"tool_id":"etch-01"},"values":{"a":1e39}}""", "values.a")]
    [InlineData("""{"context":{"tool_id":7},"values":{"a":1}}""", "context.tool_id")]
    [InlineData("""{"timestamp":"yesterday","context":{"tool_id":"etch-01"},"values":{"a":1}}""", "timestamp")]
    [InlineData("""[{"context":{"tool_id":"etch-01"},"values":{"a":1}}, 3]""", "[1]")]
    [InlineData("""[{"context":{"tool_id":"etch-01"},"values":{"a":1,"b":2,"c":3}},{"context":{"tool_id":"etch-01"},"values":{"a":1,"b":2,"a":3}}]""", "[1].values.a")]
    [InlineData("""[{"context":{"tool_id":"etch-01"},"values":{"a":1,"b":2}},{"context":{"tool_id":"etch-01"},"values":{"a":1,"b":2,"b":3}}]""", "[1].values.b")]
    [InlineData("""[{"context":{"tool_id":"etch-01"},"values":{"a":1}},{"context":{"tool_id":"etch-01","tool_id":"etch-02"},"values":{"a":1}}]""", "[1].context.tool_id")]
    [InlineData("""[]""", "$")]
    [InlineData("""{"context":{"tool_id":"etch-01"},"values":{"a":1}""", "$")]
    public async Task BadReadings_Are400_NamingTheField(string body, string field)
    {
        var response = await _client.PostAsync("/readings", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task Stored_WithContextAndValues_FoundByAnyContextField_AndSummarizedByChamber()
    {
        var wafer = "w-" + Guid.NewGuid().ToString("N")[..8];
        var before = _written.GetMeasurementSnapshot().Sum(m => m.Value);
        await PostAsync(
            new[] { Reading("etch-01", "A", Values(0), wafer: wafer), Reading("etch-01", "B", Values(1), step: "over-etch", wafer: wafer), Reading("etch-01", "B", Values(2), wafer: wafer) },
            HttpStatusCode.OK);
        while (_written.GetMeasurementSnapshot() is var snapshot && snapshot.Sum(m => m.Value) < before + 3)
        {
            await _written.WaitForMeasurementsAsync(snapshot.Count + 1, TimeSpan.FromSeconds(10));
        }

        var page = await _client.GetFromJsonAsync<JsonElement>($"/predictions?wafer_id={wafer}&chamber_id=B&step=over-etch");
        var item = Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.Equal("fdc-etch-01-B", item.GetProperty("model").GetString());
        Assert.Equal("etch-01", item.GetProperty("tool_id").GetString());
        Assert.Equal("lot-7", item.GetProperty("context").GetProperty("lot_id").GetString());
        Assert.Equal(Values(1)["chuck_temp"], item.GetProperty("values").GetProperty("chuck_temp").GetSingle());
        Assert.Equal(JsonValueKind.Null, item.GetProperty("reading").ValueKind);

        var summary = await _client.GetFromJsonAsync<JsonElement>($"/predictions/summary?wafer_id={wafer}&group_by=chamber_id,model&from=2026-12-07T07:00:00Z&to=2026-12-07T09:00:00Z&bucket=1h");
        Assert.Equal(
            ["A fdc-etch-01-A 1", "B fdc-etch-01-B 2"],
            summary.GetProperty("items").EnumerateArray().Select(i =>
                $"{i.GetProperty("group").GetProperty("chamber_id").GetString()} {i.GetProperty("group").GetProperty("model").GetString()} {i.GetProperty("count").GetInt64()}"));
    }

    [Fact]
    public async Task AControlChartsBrokenRule_OpensItsChambersAlert_NamingTheRuleAndItsPoints()
    {
        var chamber = "spc-" + Guid.NewGuid().ToString("N")[..8];
        object Litho(float temperature) => Reading("litho-01", chamber, new { temperature, pressure = 1013, flow_rate = 100 });
        await PostAsync(new[] { Litho(350), Litho(352), Litho(348) }, HttpStatusCode.OK);
        var quiet = await _client.GetFromJsonAsync<JsonElement>("/alerts?tool_id=litho-01");
        Assert.DoesNotContain(quiet.GetProperty("items").EnumerateArray(), a => a.GetProperty("chamber_id").GetString() == chamber);

        await PostAsync(Litho(380), HttpStatusCode.OK);

        var alerts = await _client.GetFromJsonAsync<JsonElement>("/alerts?tool_id=litho-01");
        var alert = Assert.Single(alerts.GetProperty("items").EnumerateArray(), a => a.GetProperty("chamber_id").GetString() == chamber);
        Assert.Equal("spc", alert.GetProperty("model").GetString());
        Assert.Equal(["temperature: WE1"], alert.GetProperty("rules").EnumerateArray().Select(r => r.GetString()));
        Assert.StartsWith("WE1: 380 (mean 350, sigma 5;", alert.GetProperty("timeline")[0].GetProperty("note").GetString(), StringComparison.Ordinal);
        // Six sigma out: as critical as the model's own certainty would make it.
        Assert.Equal("critical", alert.GetProperty("severity").GetString());

        // Ten points on the centre line resolve it, and do so within the request that broke the rule.
        await PostAsync(Enumerable.Repeat(Litho(350), 10).ToArray(), HttpStatusCode.OK);
        var other = "spc-" + Guid.NewGuid().ToString("N")[..8];
        await PostAsync(new[] { Reading("litho-01", other, new { temperature = 380, pressure = 1013, flow_rate = 100 }) }
            .Concat(Enumerable.Repeat(Reading("litho-01", other, new { temperature = 350, pressure = 1013, flow_rate = 100 }), 10)).ToArray(), HttpStatusCode.OK);
        var later = await _client.GetFromJsonAsync<JsonElement>("/alerts?tool_id=litho-01");
        string State(string of) => Assert.Single(later.GetProperty("items").EnumerateArray(), a => a.GetProperty("chamber_id").GetString() == of).GetProperty("state").GetString()!;
        Assert.Equal(("resolved", "resolved"), (State(chamber), State(other)));
    }

    [Fact]
    public async Task AChartTakesAChambersReadingsInRequestOrder_ThoughTheyTakeSeveralModelRuns()
    {
        // Six rising points within 1σ break Nelson's trend rule only in the order sent; two a run, they take three runs.
        var chambers = Enumerable.Range(0, 5).Select(_ => "pairs-" + Guid.NewGuid().ToString("N")[..8]).ToArray();
        foreach (var chamber in chambers)
        {
            await PostAsync(
                Enumerable.Range(0, 6).Select(i => Reading("litho-02", chamber, new { temperature = 350 + i, pressure = 1013, flow_rate = 100 })).ToArray(),
                HttpStatusCode.OK);
        }

        var alerts = await _client.GetFromJsonAsync<JsonElement>("/alerts?tool_id=litho-02");
        Assert.All(chambers, chamber => Assert.Equal(
            ["temperature: N3"],
            Assert.Single(alerts.GetProperty("items").EnumerateArray(), a => a.GetProperty("chamber_id").GetString() == chamber)
                .GetProperty("rules").EnumerateArray().Select(r => r.GetString())));
    }

    [Fact]
    public async Task ReadingsWithContext_AreStreamed_WithTheirContextAndValues_AndFilteredByChamber()
    {
        var chamber = "live-" + Guid.NewGuid().ToString("N")[..8];
        await using var stream = await EventStream.OpenAsync(_client, $"/stream-predictions?tool_id=litho-01&chamber_id={chamber}");
        var seed = new { temperature = 351f, pressure = 1013f, flow_rate = 100f };
        var answer = await PostAsync(new[] { Reading("litho-01", "other", seed), Reading("litho-01", chamber, seed) }, HttpStatusCode.OK);

        var (_, data) = await stream.NextPredictionAsync();
        Assert.Equal(chamber, data.GetProperty("context").GetProperty("chamber_id").GetString());
        Assert.Equal(351f, data.GetProperty("values").GetProperty("temperature").GetSingle());
        Assert.Equal("sensor-anomaly", data.GetProperty("model").GetString());
        Assert.Equal(answer.GetProperty("results")[1].GetProperty("prediction").GetSingle(), data.GetProperty("prediction").GetSingle());
        Assert.False(data.GetProperty("reading").TryGetProperty("temperature", out _));
    }

    /// <summary>A 60 s run of two sensors at 10 Hz: the main etch for 40 s, the over-etch for 20 s.</summary>
    private static object Trace(bool withOverEtch = true, bool withChuckTemp = true)
    {
        var rf = Enumerable.Range(0, 600).Select(i => 1500f + (0.5f * i) + (float)Math.Sin(i)).ToArray();
        var chuck = Enumerable.Range(0, 600).Select(i => 45f - (0.01f * i) + (float)Math.Cos(i * 0.7)).ToArray();
        var steps = new List<object> { new { name = "main-etch", start_s = 0.0, end_s = 40.0 } };
        if (withOverEtch)
        {
            steps.Add(new { name = "over-etch", start_s = 40.0, end_s = 60.0 });
        }

        var sensors = new Dictionary<string, float[]> { ["rf_power"] = rf };
        if (withChuckTemp)
        {
            sensors["chuck_temp"] = chuck;
        }

        return new { context = new { tool_id = "trace-01", chamber_id = "A", recipe = "poly-etch", wafer_id = "w07" }, interval_s = 0.1, steps, sensors };
    }

    /// <summary>The step statistics from their definitions, written again here.</summary>
    private static float[] ExpectedFeatures()
    {
        var rf = Enumerable.Range(0, 600).Select(i => 1500f + (0.5f * i) + (float)Math.Sin(i)).ToArray();
        var chuck = Enumerable.Range(0, 600).Select(i => 45f - (0.01f * i) + (float)Math.Cos(i * 0.7)).ToArray();
        static float[] Stats(float[] samples, int from, int to)
        {
            var x = samples[from..to].Select(v => (double)v).ToArray();
            var t = Enumerable.Range(from, to - from).Select(i => i * 0.1).ToArray();
            var mean = x.Average();
            var tMean = t.Average();
            var slope = t.Zip(x).Sum(p => (p.First - tMean) * (p.Second - mean)) / t.Sum(v => (v - tMean) * (v - tMean));
            var std = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1));
            return [(float)mean, (float)std, (float)x.Min(), (float)x.Max(), (float)slope];
        }

        return [.. Stats(rf, 0, 400), 40f, .. Stats(chuck, 400, 600), 20f];
    }

    [Fact]
    public async Task ATrace_IsReducedToItsModelsStepStatistics_AndScoredOnce_AsThatModelAnswersThem()
    {
        var answer = await PostTraceAsync(Trace(), HttpStatusCode.OK);

        Assert.Equal("trace-etch", answer.GetProperty("model").GetString());
        var request = new { inputs = new[] { new { name = "sensors", datatype = "FP32", shape = new[] { 1, 12 }, data = ExpectedFeatures() } } };
        var expected = await (await _client.PostAsJsonAsync("/v2/models/trace-etch/infer", request)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(expected.GetProperty("outputs")[0].GetProperty("data")[0].GetSingle(), answer.GetProperty("prediction").GetSingle(), 1e-5f);
        Assert.Equal("w07", answer.GetProperty("context").GetProperty("wafer_id").GetString());
    }

    [Fact]
    public async Task ATraceWithoutAStepOrASensorItsModelTakes_Is400NamingIt()
    {
        var noStep = await PostTraceAsync(Trace(withOverEtch: false), HttpStatusCode.BadRequest);
        var noSensor = await PostTraceAsync(Trace(withChuckTemp: false), HttpStatusCode.BadRequest);
        var unrouted = await PostTraceAsync(new { context = new { tool_id = "cmp-01" }, interval_s = 0.1, steps = new[] { new { name = "a", start_s = 0, end_s = 1 } }, sensors = new { x = new[] { 1f } } }, HttpStatusCode.UnprocessableEntity);
        var bad = await PostTraceAsync(new { context = new { tool_id = "trace-01" }, interval_s = 0, steps = new[] { new { name = "a", start_s = 2, end_s = 1 } }, sensors = new { } }, HttpStatusCode.BadRequest);

        Assert.Contains("no step 'over-etch'", noStep.GetProperty("errors").GetProperty("steps")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("no sensor 'chuck_temp'", noSensor.GetProperty("errors").GetProperty("sensors.chuck_temp")[0].GetString(), StringComparison.Ordinal);
        Assert.True(unrouted.GetProperty("errors").TryGetProperty("context", out _));
        Assert.Equal(["interval_s", "sensors", "steps[0]"], bad.GetProperty("errors").EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
    }

    private async Task<JsonElement> PostTraceAsync(object body, HttpStatusCode expected)
    {
        var response = await _client.PostAsJsonAsync("/traces", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Summary_AnUnknownGrouping_Is400()
    {
        var response = await _client.GetAsync("/predictions/summary?group_by=chamber_id,colour");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'colour'", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
