using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Server.Tests.Wafers;

public sealed class WaferEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    internal static ByteArrayContent Image(byte[] bytes, string mediaType = "image/png")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    internal static async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(HttpClient client, HttpContent content)
    {
        var response = await client.PostAsync("/predict-wafer", content);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task PredictWafer_CenterPng_DetectsCenterWithTheModelsProbability()
    {
        var (response, body) = await PostAsync(_client, Image(WaferImages.Png(WaferPattern.Center)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(
            ["defect_detected", "defect_type", "confidence", "class_probabilities", "latency_ms", "model", "model_version", "timings"],
            body.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.True(body.GetProperty("defect_detected").GetBoolean());
        Assert.Equal("center", body.GetProperty("defect_type").GetString());
        var probabilities = body.GetProperty("class_probabilities").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(WaferPatterns.Names, probabilities.Keys);
        Assert.Equal(1, probabilities.Values.Sum(), 3);
        Assert.Equal(1 - probabilities["none"], body.GetProperty("confidence").GetDouble(), 5);
        Assert.NotEqual(0.95, body.GetProperty("confidence").GetDouble());
        Assert.True(body.GetProperty("latency_ms").GetDouble() > 0);
        Assert.Equal("wafer-defect", body.GetProperty("model").GetString());
        Assert.True(body.GetProperty("timings").GetProperty("preprocess_ms").GetDouble() > 0);
        Assert.True(body.GetProperty("timings").GetProperty("batch_images").GetInt32() >= 1);
    }

    [Fact]
    public async Task PredictWafer_ByDefault_QueuesAsDefectDetectionWork()
    {
        (string, string)[] labels = [("endpoint", "/predict-wafer"), ("class", "defect-detection"), ("outcome", "ok")];
        var before = await PrometheusText.ReadAsync(_client, "rti_prediction_duration_seconds_count", labels);

        var (response, _) = await PostAsync(_client, Image(WaferImages.Png(WaferPattern.Donut)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Other suites score wafers in parallel into the same process-wide registry: at least this one counted.
        Assert.True(await PrometheusText.ReadAsync(_client, "rti_prediction_duration_seconds_count", labels) >= before + 1);
    }

    /// <summary>A black frame: what a covered or dead camera sends.</summary>
    internal static byte[] BlackPng()
    {
        using var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(320, 240, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Opaque));
        bitmap.Erase(SkiaSharp.SKColors.Black);
        using var png = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    [Fact]
    public async Task PredictWafer_ABlackFrame_Is422NotAWafer_WithTheReason_AndCounted()
    {
        var before = await PrometheusText.ReadAsync(_client, "rti_wafer_images_refused_total", ("reason", "blank"));

        var (response, body) = await PostAsync(_client, Image(BlackPng()));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("Not a wafer", body.GetProperty("title").GetString());
        Assert.Equal("blank", body.GetProperty("reason").GetString());
        Assert.Contains("one grey", body.GetProperty("errors").GetProperty("image")[0].GetString(), StringComparison.Ordinal);
        Assert.True(await PrometheusText.ReadAsync(_client, "rti_wafer_images_refused_total", ("reason", "blank")) >= before + 1);
    }

    [Fact]
    public async Task PredictWafer_WithBadLatencyClass_Returns400NamingTheHeader()
    {
        var content = Image(WaferImages.Png(WaferPattern.Donut));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/predict-wafer") { Content = content };
        request.Headers.Add("X-Latency-Class", "whenever");

        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Invalid request header", problem.RootElement.GetProperty("title").GetString());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("X-Latency-Class", out _));
    }

    [Fact]
    public async Task PredictWafer_CleanWafer_IsOkWithConfidenceOfNone()
    {
        var (response, body) = await PostAsync(_client, Image(WaferImages.Png(WaferPattern.None, seed: 2)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(body.GetProperty("defect_detected").GetBoolean());
        Assert.Equal("none", body.GetProperty("defect_type").GetString());
        Assert.Equal(
            body.GetProperty("class_probabilities").GetProperty("none").GetDouble(),
            body.GetProperty("confidence").GetDouble(), 6);
    }

    [Fact]
    public async Task PredictWafer_LargerJpeg_IsResizedAndClassified()
    {
        var (response, body) = await PostAsync(_client, Image(WaferImages.Jpeg(WaferPattern.EdgeRing, size: 256), "image/jpeg"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("edge-ring", body.GetProperty("defect_type").GetString());
    }

    [Fact]
    public async Task PredictWafer_ClassProbabilities_AreTheOnnxModelsOnTheDeclaredPreprocessing()
    {
        var png = WaferImages.Png(WaferPattern.Scratch, seed: 5);
        var model = server.Services.GetRequiredService<ModelRepository>().Models.Single(m => m.Name == "wafer-defect");
        var tensor = new float[model.FeatureCount];
        Assert.True(new ImagePreprocessor(model.Manifest.Preprocessing!).Preprocess(png, tensor).IsOk);
        using var session = new InferenceSession(Path.Combine(AppContext.BaseDirectory, "models", "wafer-defect", "1", "model.onnx"));
        using var input = OrtValue.CreateTensorValueFromMemory(tensor, [1, tensor.Length]);
        using var outputs = session.Run(new RunOptions(), [model.Manifest.Input!.Name], [input], [model.Manifest.Output!.Name]);
        var expected = outputs[0].GetTensorDataAsSpan<float>().ToArray();

        var (_, body) = await PostAsync(_client, Image(png));

        var served = body.GetProperty("class_probabilities");
        for (var c = 0; c < expected.Length; c++)
        {
            Assert.Equal(expected[c], served.GetProperty(WaferPatterns.Names[c]).GetSingle(), 6);
        }
    }

    [Fact]
    public async Task PredictWafer_MultipartOfEveryClass_ReturnsOneVerdictPerImageFromOneModelRun()
    {
        using var form = new MultipartFormDataContent();
        foreach (var pattern in WaferPatterns.All)
        {
            form.Add(Image(WaferImages.Png(pattern, seed: 3)), "files", $"{pattern.Name()}.png");
        }

        var (response, body) = await PostAsync(_client, form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(9, body.GetProperty("count").GetInt32());
        Assert.Equal(WaferPatterns.Names.Select(n => n + ".png"), body.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        var types = body.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("defect_type").GetString()).ToArray();
        Assert.True(types.Zip(WaferPatterns.Names).Count(p => p.First == p.Second) >= 8, string.Join(", ", types));
        Assert.True(body.GetProperty("timings").GetProperty("batch_images").GetInt32() >= 9);
        Assert.Equal(
            body.GetProperty("predictions").EnumerateArray().Select((p, i) => (p, i)).Where(x => x.p.GetProperty("defect_detected").GetBoolean()).Select(x => x.i),
            body.GetProperty("defects").EnumerateArray().Select(d => d.GetInt32()));
    }
}
