using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Server.Tests.Models;

/// <summary>A server over a private copy of the bundled models, so tests can add and break versions.</summary>
public class ModelCopyServerFixture : ServerFixture
{
    public ModelCopyServerFixture()
    {
        ModelsPath = Path.Combine(Path.GetTempPath(), "rti-reload-" + Guid.NewGuid().ToString("N"));
        var bundled = Path.Combine(AppContext.BaseDirectory, "models");
        foreach (var file in Directory.EnumerateFiles(bundled, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(ModelsPath, Path.GetRelativePath(bundled, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public string Model(params string[] parts) => Path.Combine([ModelsPath!, "sensor-anomaly", .. parts]);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (Directory.Exists(ModelsPath))
        {
            Directory.Delete(ModelsPath, recursive: true);
        }
    }
}

/// <summary>The reload steps change the shared model folder, so they run in order inside one test.</summary>
public sealed class ReloadTests(ModelCopyServerFixture server) : IClassFixture<ModelCopyServerFixture>
{
    private readonly HttpClient _client = CreateClient(server);

    /// <summary>Hundreds of requests in flight on a busy test machine: a 30 s deadline, so none expires while a reload swaps models.</summary>
    private static HttpClient CreateClient(ModelCopyServerFixture server)
    {
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Add("X-Latency-Class", "yield-forecasting");
        return client;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> ReloadAsync()
    {
        var response = await _client.PostAsync("/models/sensor-anomaly/reload", null);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.Clone());
    }

    private Task<HttpResponseMessage> PredictAsync(int i) =>
        _client.PostAsJsonAsync("/predict", new { temperature = 340.0 + (i % 30), pressure = 1013.0, flow_rate = 100.0 });

    [Fact]
    public async Task Reload_NewVersionSwapsInUnderLoad_CorruptVersionKeepsTheOldServing()
    {
        using var reloads = new MetricCollector<long>(
            server.Services.GetRequiredService<IMeterFactory>(), InferenceMetrics.MeterName, "model_reloads_total");

        // A new version folder is picked up by a reload while requests flow; none is lost.
        Directory.CreateDirectory(server.Model("2"));
        File.Copy(server.Model("1", "model.onnx"), server.Model("2", "model.onnx"));
        var load = Enumerable.Range(0, 400).Select(PredictAsync).ToArray();
        var (status, body) = await ReloadAsync();
        var responses = await Task.WhenAll(load.Concat(Enumerable.Range(0, 100).Select(PredictAsync)));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, body.GetProperty("version").GetInt32());
        Assert.Equal([1, 2], body.GetProperty("versions").EnumerateArray().Select(v => v.GetInt32()));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        using (var after = JsonDocument.Parse(await (await PredictAsync(0)).Content.ReadAsStringAsync()))
        {
            Assert.Equal(2, after.RootElement.GetProperty("model_version").GetInt32());
        }

        // A corrupt version 3 is refused; version 2 keeps serving.
        Directory.CreateDirectory(server.Model("3"));
        await File.WriteAllBytesAsync(server.Model("3", "model.onnx"), [1, 2, 3, 4, 5]);
        var (corruptStatus, problem) = await ReloadAsync();
        var still = await PredictAsync(1);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, corruptStatus);
        Assert.Contains("Version 2 keeps serving", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // It names the model's file, never where the server keeps it.
        Assert.DoesNotContain(server.ModelsPath!, problem.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath(), problem.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
        using (var json = JsonDocument.Parse(await still.Content.ReadAsStringAsync()))
        {
            Assert.Equal(2, json.RootElement.GetProperty("model_version").GetInt32());
        }

        Assert.Equal(["ok", "failed"], reloads.GetMeasurementSnapshot().Select(m => (string?)m.Tags["result"]));
    }

    [Fact]
    public async Task Reload_UnknownModel_Returns404WithoutTouchingFilesOrMetrics()
    {
        using var reloads = new MetricCollector<long>(
            server.Services.GetRequiredService<IMeterFactory>(), InferenceMetrics.MeterName, "model_reloads_total");
        // A folder the server could load, but no model it serves: a reload of it is refused.
        Directory.CreateDirectory(Path.Combine(server.ModelsPath!, "planted", "1"));

        var responses = await Task.WhenAll(new[] { "no-such-model", "planted" }.Select(name => _client.PostAsync($"/models/{name}/reload", null)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        Assert.All(responses, r => Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType));
        Assert.Empty(reloads.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task Reload_WithoutKeys_FromAnotherMachine_Is403()
    {
        var response = await server.Server.SendAsync(context =>
        {
            context.Request.Method = HttpMethods.Post;
            context.Request.Path = "/models/sensor-anomaly/reload";
            context.Connection.RemoteIpAddress = IPAddress.Parse("10.20.30.40");
        });

        Assert.Equal(StatusCodes.Status403Forbidden, response.Response.StatusCode);
    }

    [Theory]
    [InlineData("Sensor-Anomaly")]
    [InlineData("a%2Fb")]
    [InlineData("%2E%2E%2F%2E%2E%2Fetc")]
    [InlineData("a%20b")]
    public async Task Model_NameNoFolderMayHave_Is400NamingIt(string name)
    {
        var get = await _client.GetAsync($"/models/{name}");
        var reload = await _client.PostAsync($"/models/{name}/reload", null);

        foreach (var response in new[] { get, reload })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("name", out _));
        }
    }
}
