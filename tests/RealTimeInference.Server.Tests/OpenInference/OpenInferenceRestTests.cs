using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.OpenInference;

/// <summary>The Open Inference Protocol (V2) REST contract, as KServe's inference_rest.md and Triton's extensions write it.</summary>
public sealed class OpenInferenceRestTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    internal static readonly float[][] Rows = [.. Enumerable.Range(0, 12).Select(i => new[] { 330f + (i * 3.5f), 1013f - i, i == 5 ? 0f : 100f + (i % 3) })];

    internal static string Flat(IEnumerable<float[]> rows) =>
        string.Join(",", rows.SelectMany(r => r).Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static string InferBody(string data, int rows, string datatype = "FP32", string extra = "", string input = "Features", string shape = "") =>
        $$"""{"id":"req-42",{{extra}}"inputs":[{"name":"{{input}}","shape":{{(shape == "" ? $"[{rows},3]" : shape)}},"datatype":"{{datatype}}","data":[{{data}}]}]}""";

    private async Task<(HttpResponseMessage Response, JsonElement Body)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        var response = await _client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    internal static float[] Data(JsonElement response) =>
        [.. response.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle())];

    [Fact]
    public async Task ServerMetadata_NamesServerVersionAndExtensions()
    {
        var (response, body) = await SendAsync(HttpMethod.Get, "/v2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("realtime-inference", body.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("version").GetString()));
        var extensions = body.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.Contains("binary_tensor_data", extensions);
        Assert.Contains("schedule_policy", extensions);
    }

    [Theory]
    [InlineData("/v2/health/live")]
    [InlineData("/v2/health/ready")]
    [InlineData("/v2/models/sensor-anomaly/ready")]
    [InlineData("/v2/models/sensor-anomaly/versions/1/ready")]
    [InlineData("/v2/models/yield-forecast/ready")]
    public async Task HealthAndReadiness_WhenServing_Return200(string path)
    {
        var (response, _) = await SendAsync(HttpMethod.Get, path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("sensor-anomaly", "Features", "[-1,3]", "Probability.output", "[-1,1]")]
    [InlineData("sensor-anomaly-lite", "Features", "[-1,3]", "Probability.output", "[-1,1]")]
    [InlineData("yield-forecast", "Features", "[-1,10]", "Score.output", "[-1,1]")]
    public async Task ModelMetadata_DeclaresTheModelsSignature(string model, string input, string inputShape, string output, string outputShape)
    {
        var (response, body) = await SendAsync(HttpMethod.Get, $"/v2/models/{model}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(model, body.GetProperty("name").GetString());
        Assert.Equal(["1"], body.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("onnxruntime_onnx", body.GetProperty("platform").GetString());
        var inputs = body.GetProperty("inputs");
        Assert.Equal(1, inputs.GetArrayLength());
        Assert.Equal(input, inputs[0].GetProperty("name").GetString());
        Assert.Equal("FP32", inputs[0].GetProperty("datatype").GetString());
        Assert.Equal(inputShape, inputs[0].GetProperty("shape").GetRawText());
        Assert.Equal(output, body.GetProperty("outputs")[0].GetProperty("name").GetString());
        Assert.Equal(outputShape, body.GetProperty("outputs")[0].GetProperty("shape").GetRawText());
    }

    [Fact]
    public async Task ModelMetadata_WaferModel_DeclaresThePreprocessedTensorAndOneScorePerClass()
    {
        var (_, models) = await SendAsync(HttpMethod.Get, "/models/wafer-defect");
        var (response, body) = await SendAsync(HttpMethod.Get, "/v2/models/wafer-defect/versions/1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var shape = body.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        Assert.Equal(-1, shape[0]);
        Assert.True(shape.Length >= 2 && shape.Skip(1).All(d => d > 0));
        var classes = models.GetProperty("manifest").GetProperty("classes").GetArrayLength();
        Assert.Equal($"[-1,{classes}]", body.GetProperty("outputs")[0].GetProperty("shape").GetRawText());
    }

    [Theory]
    [InlineData(false, "/v2/models/no-such-model")]
    [InlineData(false, "/v2/models/sensor-anomaly/versions/7")]
    [InlineData(false, "/v2/models/no-such-model/ready")]
    [InlineData(false, "/v2/models/sensor-anomaly/versions/2/ready")]
    [InlineData(true, "/v2/models/no-such-model/infer")]
    [InlineData(true, "/v2/models/sensor-anomaly/versions/9/infer")]
    public async Task UnknownModelOrVersion_Returns404WithError(bool infer, string path)
    {
        var (response, body) = await SendAsync(infer ? HttpMethod.Post : HttpMethod.Get, path, infer ? InferBody(Flat(Rows[..1]), 1) : null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("not served", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Infer_SensorRows_GivesTheSameScoresAsPredictBatch()
    {
        var batch = "[" + string.Join(",", Rows.Select(r => string.Create(
            CultureInfo.InvariantCulture, $$"""{"temperature":{{r[0]:R}},"pressure":{{r[1]:R}},"flow_rate":{{r[2]:R}}}"""))) + "]";
        var (_, expected) = await SendAsync(HttpMethod.Post, "/predict-batch", batch);

        var (response, body) = await SendAsync(HttpMethod.Post, "/v2/models/sensor-anomaly/infer", InferBody(Flat(Rows), Rows.Length));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sensor-anomaly", body.GetProperty("model_name").GetString());
        Assert.Equal("1", body.GetProperty("model_version").GetString());
        Assert.Equal("req-42", body.GetProperty("id").GetString());
        var output = body.GetProperty("outputs")[0];
        Assert.Equal("Probability.output", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal($"[{Rows.Length},1]", output.GetProperty("shape").GetRawText());
        Assert.Equal(expected.GetProperty("predictions").EnumerateArray().Select(p => p.GetSingle()), Data(body));
        Assert.True(Data(body)[5] > 0.9, "A flow stuck at 0 must score as anomalous.");
    }

    [Fact]
    public async Task Infer_SingleRow_GivesTheSameScoreAsPredict()
    {
        var row = Rows[3];
        var (_, expected) = await SendAsync(HttpMethod.Post, "/predict", string.Create(
            CultureInfo.InvariantCulture, $$"""{"temperature":{{row[0]:R}},"pressure":{{row[1]:R}},"flow_rate":{{row[2]:R}}}"""));

        var (_, body) = await SendAsync(HttpMethod.Post, "/v2/models/sensor-anomaly/infer", InferBody(Flat([row]), 1));

        Assert.Equal([expected.GetProperty("prediction").GetSingle()], Data(body));
    }

    [Fact]
    public async Task Infer_NestedData_FP64AndIntegerTypes_GiveTheSameScoresAsFlatFP32()
    {
        float[][] integral = [[350, 1013, 100], [420, 1013, 100], [350, 900, 40]];
        var (_, flat) = await SendAsync(HttpMethod.Post, "/v2/models/sensor-anomaly/infer", InferBody(Flat(integral), 3));
        var nested = string.Join(",", integral.Select(r => "[" + string.Join(",", r.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]"));

        foreach (var type in new[] { "FP32", "FP64", "INT32", "INT64", "UINT16", "FP16" })
        {
            var (response, body) = await SendAsync(HttpMethod.Post, "/v2/models/sensor-anomaly/infer", InferBody(nested, 3, type));
            Assert.True(response.StatusCode == HttpStatusCode.OK, type + ": " + body);
            Assert.Equal(Data(flat), Data(body));
        }
    }

    [Fact]
    public async Task Infer_LiteModel_AnswersWithItsOwnScores()
    {
        var (_, full) = await SendAsync(HttpMethod.Post, "/v2/models/sensor-anomaly/infer", InferBody(Flat(Rows), Rows.Length));

        var (response, lite) = await SendAsync(HttpMethod.Post, "/v2/models/sensor-anomaly-lite/versions/1/infer", InferBody(Flat(Rows), Rows.Length));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sensor-anomaly-lite", lite.GetProperty("model_name").GetString());
        Assert.NotEqual(Data(full), Data(lite));
    }

    [Fact]
    public async Task Infer_OutputsSelection_ReturnsTheNamedOutput()
    {
        var (response, body) = await SendAsync(HttpMethod.Post, "/v2/models/sensor-anomaly/infer", InferBody(Flat(Rows[..2]), 2));
        var selected = InferBody(Flat(Rows[..2]), 2)[..^1] + ""","outputs":[{"name":"Probability.output"}]}""";

        var (selectedResponse, selectedBody) = await SendAsync(HttpMethod.Post, "/v2/models/sensor-anomaly/infer", selected);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, selectedResponse.StatusCode);
        Assert.Equal(Data(body), Data(selectedBody));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"inputs":[]}""", "inputs")]
    [InlineData("""{"inputs":[{"name":"Wrong","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""", "takes one input, 'Features'")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}""", "does not match the model's [-1,3]")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[3],"datatype":"FP32","data":[1,2,3]}]}""", "does not match")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[2,3],"datatype":"FP32","data":[1,2,3]}]}""", "data holds 3 elements")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[1,3],"datatype":"BYTES","data":["a","b","c"]}]}""", "BYTES cannot feed")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP8","data":[1,2,3]}]}""", "datatype must be one of")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[1,3],"datatype":"INT8","data":[1,2,300]}]}""", "is not a INT8 value")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[1,3],"datatype":"INT32","data":[1,2,3.5]}]}""", "is not a INT32 value")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP64","data":[1,2,1e300]}]}""", "32-bit float range")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[1,"2",3]}]}""", "must hold numbers")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}],"outputs":[{"name":"Nope"}]}""", "no output 'Nope'")]
    [InlineData("""{"parameters":{"priority":-1},"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""", "priority")]
    [InlineData("""{"parameters":{"timeout":"soon"},"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""", "timeout")]
    [InlineData("""{"parameters":{"timeout":900000000000},"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""", "timeout")]
    [InlineData("""{"id":7,"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""", "id must be a string")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[9223372036854775807,3],"datatype":"FP32","data":[1,2,3]}]}""", "data holds 3 elements")]
    [InlineData("""{"inputs":[{"name":"Features","shape":[0,3],"datatype":"FP32","data":[]}]}""", "at least one row")]
    public async Task Infer_BadRequest_Returns400WithError(string body, string error)
    {
        var (response, result) = await SendAsync(HttpMethod.Post, "/v2/models/sensor-anomaly/infer", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(error, result.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Infer_MoreRowsThanMaxBatchReadings_Returns413WithError()
    {
        var (response, result) = await SendAsync(
            HttpMethod.Post, "/v2/models/sensor-anomaly/infer", InferBody(string.Join(",", Enumerable.Repeat("350,1013,100", 10_001)), 10_001));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("at most 10000", result.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Infer_TimeoutTheQueueCannotMeet_Returns503WithRetryAfter()
    {
        var (response, result) = await SendAsync(
            HttpMethod.Post, "/v2/models/sensor-anomaly/infer", InferBody(Flat(Rows), Rows.Length, extra: "\"parameters\":{\"timeout\":1},"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.False(string.IsNullOrEmpty(result.GetProperty("error").GetString()));
    }

    [Theory]
    [InlineData(1, "emergency")]
    [InlineData(2, "process-control")]
    [InlineData(3, "defect-detection")]
    [InlineData(4, "yield-forecasting")]
    [InlineData(99, "yield-forecasting")]
    public async Task Infer_WithPriority_IsScoredInThatLatencyClass(int priority, string latencyClass)
    {
        var before = await CountedAsync(latencyClass);

        var (response, body) = await SendAsync(
            HttpMethod.Post, "/v2/models/sensor-anomaly/infer", InferBody(Flat(Rows), Rows.Length, extra: $"\"parameters\":{{\"priority\":{priority},\"timeout\":30000000}},"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Rows.Length, Data(body).Length);
        Assert.True(await CountedAsync(latencyClass) > before, $"priority {priority} was not counted as {latencyClass}");
    }

    /// <summary>V2 infer requests answered in <paramref name="latencyClass"/>, from the server's /metrics.</summary>
    private async Task<double> CountedAsync(string latencyClass)
    {
        var series = $"rti_prediction_duration_seconds_count{{class=\"{latencyClass}\",endpoint=\"/v2/models/{{name}}/infer\",outcome=\"ok\"}} ";
        var line = (await _client.GetStringAsync("/metrics")).Split('\n').FirstOrDefault(l => l.StartsWith(series, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[series.Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>Triton's binary tensors: the JSON header, then the tensors' bytes.</summary>
    internal static ByteArrayContent BinaryBody(string header, byte[] data)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var content = new ByteArrayContent([.. headerBytes, .. data]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", headerBytes.Length.ToString(CultureInfo.InvariantCulture));
        return content;
    }

    internal static byte[] Fp32Bytes(IEnumerable<float> values)
    {
        var floats = values.ToArray();
        var bytes = new byte[floats.Length * 4];
        for (var i = 0; i < floats.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), floats[i]);
        }

        return bytes;
    }
}
