using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace RealTimeInference.Server.Tests.Models;

/// <summary>
/// PyTorch's two-input model in two version folders, with a model.json that serves all versions,
/// allows two priority levels, holds a batch 5 ms for a preferred size of 8 and warms up on random data.
/// </summary>
public sealed class ConfiguredRepositoryFixture : RepositoryFixture
{
    public ConfiguredRepositoryFixture()
    {
        var onnx = Path.Combine(AppContext.BaseDirectory, "ForeignModels", "fab-recipe", "1", "model.onnx");
        foreach (var version in new[] { "1", "2" })
        {
            Directory.CreateDirectory(Path.Combine(Repository, "recipe", version));
            File.Copy(onnx, Path.Combine(Repository, "recipe", version, "model.onnx"));
        }

        File.WriteAllText(Path.Combine(Repository, "recipe", "model.json"), """
            {
              "version_policy": { "all": {} },
              "batching": { "max_batch_size": 16, "preferred_batch_size": [8], "max_queue_delay_ms": 5, "priority_levels": 2, "default_priority_level": 2 },
              "model_warmup": [ { "batch_size": 4, "inputs": { "x": { "random_data": true } } } ]
            }
            """);
    }
}

public sealed class ModelConfigurationTests(ConfiguredRepositoryFixture server) : IClassFixture<ConfiguredRepositoryFixture>
{
    private const string Request = """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[0.1,0.2,0.3,0.4]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[3]}]""";

    private readonly HttpClient _client = server.CreateClient();

    [Fact]
    public async Task VersionPolicyAll_ServesEveryVersion_EachAddressable()
    {
        var metadata = JsonNode.Parse(await _client.GetStringAsync("/v2/models/recipe"))!;

        Assert.Equal("""["2","1"]""", metadata["versions"]!.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, (await InferAsync("/v2/models/recipe/versions/1/infer", Request + "}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await InferAsync("/v2/models/recipe/versions/2/infer", Request + "}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await InferAsync("/v2/models/recipe/versions/3/infer", Request + "}")).StatusCode);
    }

    [Fact]
    public async Task PriorityLevels_BeyondTheModelsLevels_AreRefused_AndTheConfigSaysThem()
    {
        using var refused = await InferAsync("/v2/models/recipe/infer", Request + ""","parameters":{"priority":3}}""");
        var config = JsonNode.Parse(await _client.GetStringAsync("/v2/models/recipe/config"))!;

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("within 1..2", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await InferAsync("/v2/models/recipe/infer", Request + ""","parameters":{"priority":1}}""")).StatusCode);
        Assert.Equal(2, (int?)config["dynamic_batching"]!["priority_levels"]);
        Assert.Equal("process-control", (string?)config["latency_class"]);
        Assert.Equal("[8]", config["dynamic_batching"]!["preferred_batch_size"]!.ToJsonString());
        Assert.Equal(5000, (long?)config["dynamic_batching"]!["max_queue_delay_microseconds"]);
        Assert.Equal(16, (int?)config["max_batch_size"]);
    }

    private Task<HttpResponseMessage> InferAsync(string path, string body) =>
        _client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
}
