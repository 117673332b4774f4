using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using RealTimeInference.Fab.Process;

namespace RealTimeInference.Server.Tests.Yield;

public sealed class PredictYieldTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private static string State(double temperature = 353, double pressure = 1005, double flow = 101.5, double age = 0, double temperatureSd = 5) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $$"""{"temperature_setpoint":{{temperature}},"pressure_setpoint":{{pressure}},"flow_setpoint":{{flow}},"chamber_age":{{age}},"temperature_offset":0,"temperature_sd":{{temperatureSd}},"pressure_offset":0,"pressure_sd":10,"flow_offset":0,"flow_sd":2}""");

    private async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(string body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/predict-yield") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        var response = await _client.SendAsync(request);
        return (response, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task PredictYield_OneState_ReturnsTheModelsForecast_AndMeasuredLatency()
    {
        var (response, body) = await PostAsync(State());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["predicted_yield", "model", "model_version", "latency_ms"], body.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.InRange(body.GetProperty("predicted_yield").GetDouble(), 0.5, 1);
        Assert.Equal("yield-forecast", body.GetProperty("model").GetString());
        Assert.Equal(1, body.GetProperty("model_version").GetInt32());
        Assert.True(body.GetProperty("latency_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task PredictYield_Array_AnswersOneForecastPerState_AsTheOnnxModelGivesThem()
    {
        var states = new[] { (350.0, 1013.0, 100.0, 2_000.0), (353.0, 1005.0, 101.5, 0.0), (362.0, 1040.0, 95.0, 2_000.0), (340.0, 980.0, 107.0, 700.0) };
        var (response, body) = await PostAsync("[" + string.Join(',', states.Select(s => State(s.Item1, s.Item2, s.Item3, s.Item4))) + "]");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4, body.GetProperty("count").GetInt32());
        var served = body.GetProperty("predictions").EnumerateArray().Select(p => p.GetSingle()).ToArray();

        // The features in YieldFeatures order, scored by ONNX Runtime directly: serving feeds the model what training did.
        using var session = new InferenceSession(Path.Combine(AppContext.BaseDirectory, "models", "yield-forecast", "1", "model.onnx"));
        var rows = new float[states.Length * YieldFeatures.Count];
        for (var i = 0; i < states.Length; i++)
        {
            var (t, p, f, age) = states[i];
            YieldFeatures.Write(new ProcessState(new Setpoints(t, p, f), age, SensorStats.Healthy), rows.AsSpan(i * YieldFeatures.Count, YieldFeatures.Count));
        }

        using var input = OrtValue.CreateTensorValueFromMemory(rows, [states.Length, YieldFeatures.Count]);
        using var output = session.Run(new RunOptions(), [session.InputNames[0]], [input], [session.OutputNames[0]]);
        var direct = output[0].GetTensorDataAsSpan<float>().ToArray();
        for (var i = 0; i < states.Length; i++)
        {
            Assert.True(Math.Abs(direct[i] - served[i]) <= 1e-5, $"state {i}: served {served[i]}, ONNX {direct[i]}");
        }

        // The model knows the surface: the nominal recipe of an aged chamber is worse than a fresh chamber near its optimum.
        Assert.True(served[1] > served[0]);
    }

    [Fact]
    public async Task PredictYield_BadStates_Return400NamingEachFieldAtFault_AndTheServerKeepsServing()
    {
        var (response, body) = await PostAsync("""[{"temperature_setpoint":"hot","chamber_age":-5,"temperature_sd":-1}, 3]""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = body.GetProperty("errors");
        Assert.True(errors.TryGetProperty("[0].temperature_setpoint", out _));
        Assert.True(errors.TryGetProperty("[0].chamber_age", out _));
        Assert.True(errors.TryGetProperty("[0].temperature_sd", out _));
        Assert.True(errors.TryGetProperty("[0].flow_sd", out _));
        Assert.True(errors.TryGetProperty("[1]", out _));

        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("[]")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("{\"temperature_setpoint\":")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(State().Replace("353", "1e400", StringComparison.Ordinal))).Response.StatusCode);
        var badClass = await PostAsync(State(), ("X-Latency-Class", "whenever"));
        Assert.Equal(HttpStatusCode.BadRequest, badClass.Response.StatusCode);
        Assert.True(badClass.Body.GetProperty("errors").TryGetProperty("X-Latency-Class", out _));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(State())).Response.StatusCode);
    }
}

/// <summary>A server whose yield model is not there: every forecast is 503 with Retry-After.</summary>
public sealed class MissingYieldModelFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Yield:Model", "no-such-model")];
}

public sealed class PredictYieldUnavailableTests(MissingYieldModelFixture server) : IClassFixture<MissingYieldModelFixture>
{
    [Fact]
    public async Task PredictYield_WithoutTheModel_Returns503WithRetryAfter()
    {
        var client = server.CreateClient();
        var state = """{"temperature_setpoint":350,"pressure_setpoint":1013,"flow_setpoint":100,"chamber_age":0,"temperature_offset":0,"temperature_sd":5,"pressure_offset":0,"pressure_sd":10,"flow_offset":0,"flow_sd":2}""";

        var response = await client.PostAsync("/predict-yield", new StringContent(state, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
