using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace RealTimeInference.Server.Tests.Models;

/// <summary>A repository of PyTorch's models loaded on first use, at most one at a time, under the default (poll) model control.</summary>
public sealed class LazyRepositoryFixture : RepositoryFixture
{
    public LazyRepositoryFixture()
    {
        foreach (var file in Directory.EnumerateFiles(Source, "*", SearchOption.AllDirectories).Where(f => f.EndsWith(".onnx", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)))
        {
            var target = Path.Combine(Repository, Path.GetRelativePath(Source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string Source => Path.Combine(AppContext.BaseDirectory, "ForeignModels");

    protected override IEnumerable<KeyValuePair<string, string?>> RepositorySettings =>
    [
        new("Inference:LoadOnFirstUse", "true"),
        new("Inference:MaxLoadedModels", "1"),
    ];
}

public sealed class LazyLoadingTests(LazyRepositoryFixture server) : IClassFixture<LazyRepositoryFixture>
{
    private const string Recipe = """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[0.1,0.2,0.3,0.4]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[3]}]}""";
    private const string Sensors = """{"inputs":[{"name":"sensors","shape":[1,12],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""";

    private readonly HttpClient _client = server.CreateClient();

    [Fact]
    public async Task FirstUse_LoadsTheModel_AndOneMoreUnloadsTheLeastRecentlyUsed()
    {
        Assert.All(await IndexAsync(), e => Assert.Equal("UNAVAILABLE", (string?)e!["state"]));
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v2/health/ready")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await InferAsync("fab-recipe", Recipe)).StatusCode);
        Assert.Equal("READY", State(await IndexAsync(), "fab-recipe"));

        Assert.Equal(HttpStatusCode.OK, (await InferAsync("fab-sensor-mlp", Sensors)).StatusCode);
        var index = await IndexAsync();
        Assert.Equal("READY", State(index, "fab-sensor-mlp"));
        Assert.Equal("UNAVAILABLE", State(index, "fab-recipe"));
        Assert.Equal(1, await PrometheusText.ReadAsync(_client, "rti_inference_model_unloads_total", ("model", "fab-recipe"), ("reason", "lru")));
        Assert.Equal(1, await PrometheusText.ReadAsync(_client, "rti_inference_model_loads_total", ("model", "fab-recipe"), ("reason", "first_use"), ("result", "ok")));

        // Its next request loads it again.
        Assert.Equal(HttpStatusCode.OK, (await InferAsync("fab-recipe", Recipe)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await InferAsync("no-such-model", Recipe)).StatusCode);
    }

    [Fact]
    public async Task LoadAndUnload_UnderPollModelControl_AreRefusedNamingTheSetting()
    {
        using var response = await _client.PostAsync("/v2/repository/models/fab-recipe/load", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Inference:ModelControl=Explicit", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private Task<HttpResponseMessage> InferAsync(string model, string body) =>
        _client.PostAsync($"/v2/models/{model}/infer", new StringContent(body, Encoding.UTF8, "application/json"));

    private async Task<JsonArray> IndexAsync() =>
        JsonNode.Parse(await (await _client.PostAsync("/v2/repository/index", null)).Content.ReadAsStringAsync())!.AsArray();

    private static string? State(JsonArray index, string model) => (string?)index.Single(e => (string?)e!["name"] == model)!["state"];
}
