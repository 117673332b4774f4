using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Inference.Models;
using static RealTimeInference.Server.Tests.OpenInference.OpenInferenceRestTests;

namespace RealTimeInference.Server.Tests.OpenInference;

/// <summary>V2 inference with the yield and wafer models gives what their own endpoints give for the same inputs.</summary>
public sealed class OpenInferenceModelsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private static readonly double[][] States =
    [
        [350, 1013, 100, 200, 0.5, 1.2, -0.3, 2.0, 0.1, 0.8],
        [362, 990, 104, 4000, -2, 3.5, 1.5, 6, -1, 2.5],
    ];

    private static readonly string[] YieldFields =
        ["temperature_setpoint", "pressure_setpoint", "flow_setpoint", "chamber_age", "temperature_offset", "temperature_sd", "pressure_offset", "pressure_sd", "flow_offset", "flow_sd"];

    private async Task<JsonElement> PostJsonAsync(string path, string body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await _client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task YieldInfer_GivesTheSamePredictionsAsPredictYield()
    {
        var states = "[" + string.Join(",", States.Select(s => "{" + string.Join(",", YieldFields.Select((f, i) => string.Create(CultureInfo.InvariantCulture, $"\"{f}\":{s[i]}"))) + "}")) + "]";
        var expected = (await PostJsonAsync("/predict-yield", states)).GetProperty("predictions").EnumerateArray().Select(p => p.GetSingle());
        var data = string.Join(",", States.SelectMany(s => s).Select(v => v.ToString(CultureInfo.InvariantCulture)));

        var body = await PostJsonAsync(
            "/v2/models/yield-forecast/infer", $$"""{"inputs":[{"name":"Features","shape":[2,10],"datatype":"FP64","data":[{{data}}]}]}""");

        Assert.Equal("yield-forecast", body.GetProperty("model_name").GetString());
        Assert.Equal("[2,1]", body.GetProperty("outputs")[0].GetProperty("shape").GetRawText());
        Assert.Equal(expected, Data(body));
    }

    [Fact]
    public async Task YieldInfer_WrongFeatureCount_Returns400()
    {
        var body = await PostJsonAsync(
            "/v2/models/yield-forecast/infer", """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[350,1013,100]}]}""", HttpStatusCode.BadRequest);

        Assert.Contains("[-1,10]", body.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData(3, -1, "row 1, chamber_age must be within")]
    [InlineData(5, -0.5, "row 1, temperature_sd must not be negative")]
    public async Task YieldInfer_AFieldOutsideWhatPredictYieldAccepts_Returns400(int feature, double value, string expected)
    {
        double[] state = [350, 1013, 100, 1200, 0.1, 0.5, -2, 2, 0.05, 0.4];
        var bad = (double[])state.Clone();
        bad[feature] = value;
        var data = string.Join(",", state.Concat(bad).Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var body = await PostJsonAsync(
            "/v2/models/yield-forecast/infer", $$$"""{"inputs":[{"name":"Features","shape":[2,10],"datatype":"FP32","data":[{{{data}}}]}]}""", HttpStatusCode.BadRequest);

        Assert.Contains(expected, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task WaferInfer_ThePreprocessedTensor_GivesTheSameClassProbabilitiesAsPredictWafer()
    {
        var manifest = ModelManifest.Load(Path.Combine(AppContext.BaseDirectory, "models", "wafer-defect", ModelManifest.FileName));
        var image = WaferMapRenderer.Render(new WaferMapGenerator(7).Next(WaferPattern.Donut), 64);
        var tensor = new float[manifest.InputLength];
        Assert.True(new ImagePreprocessor(manifest.Preprocessing!).Preprocess(image, tensor).IsOk);
        using var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var verdict = JsonDocument.Parse(await (await _client.PostAsync("/predict-wafer", content)).Content.ReadAsStringAsync()).RootElement;
        var expected = manifest.Classes!.Select(c => verdict.GetProperty("class_probabilities").GetProperty(c).GetSingle());
        var shape = string.Join(",", manifest.InputShape);

        var body = await PostJsonAsync(
            "/v2/models/wafer-defect/infer",
            $$"""{"inputs":[{"name":"{{manifest.Input!.Name}}","shape":[1,{{shape}}],"datatype":"FP32","data":[{{Flat([tensor])}}]}]}""");

        Assert.Equal($"[1,{manifest.Classes!.Count}]", body.GetProperty("outputs")[0].GetProperty("shape").GetRawText());
        Assert.Equal(expected, Data(body));
    }
}
