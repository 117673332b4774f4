using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Net.Client;
using RealTimeInference.Server.OpenInference.Grpc;
using static RealTimeInference.Server.Tests.OpenInference.OpenInferenceRestTests;

namespace RealTimeInference.Server.Tests.OpenInference;

/// <summary>
/// The real server process over a repository of models nobody here trained — PyTorch's exports
/// (tests/ForeignModels), two of them without any model.json — plus one folder whose model.json is
/// wrong, under explicit model control, with its gRPC port.
/// </summary>
public sealed class ForeignModelsFixture : IAsyncLifetime
{
    private RealServer? _server;

    public string Repository { get; } = Path.Combine(Path.GetTempPath(), "rti-foreign-" + Guid.NewGuid().ToString("N"));

    public HttpClient Http { get; private set; } = null!;

    public string GrpcAddress { get; private set; } = "";

    public GrpcChannel Channel { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "ForeignModels");
        foreach (var model in ForeignModelTests.Models)
        {
            CopyFolder(Path.Combine(source, model), Path.Combine(Repository, model));
        }

        // Same graph, bad configuration: only this model fails to load, naming the field.
        CopyFolder(Path.Combine(source, "fab-recipe"), Path.Combine(Repository, "broken-config"));
        File.WriteAllText(Path.Combine(Repository, "broken-config", "model.json"), """{ "batching": { "max_batch_size": 0 } }""");

        var port = RealServer.FreePort();
        _server = await RealServer.StartAsync(
            "--Inference:ModelsPath=" + Repository, "--Inference:ModelControl=Explicit", $"--OpenInference:GrpcPort={port}", "--OpenInference:GrpcHost=127.0.0.1");
        Http = new HttpClient { BaseAddress = _server.Url };
        GrpcAddress = $"127.0.0.1:{port}";
        Channel = GrpcChannel.ForAddress($"http://{GrpcAddress}");
    }

    public Task DisposeAsync()
    {
        Channel.Dispose();
        Http.Dispose();
        _server?.Dispose();
        Directory.Delete(Repository, recursive: true);
        return Task.CompletedTask;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

/// <summary>Every input and output of PyTorch's models over V2 REST JSON, REST binary tensors, gRPC and a Python gRPC client, within 1e-4 of PyTorch's own answers.</summary>
public sealed class ForeignModelTests(ForeignModelsFixture fixture) : IClassFixture<ForeignModelsFixture>
{
    public static readonly string[] Models = ["fab-sensor-mlp", "fab-recipe", "fab-defect-cnn"];

    private static readonly JsonElement Expected = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ForeignModels", "expected.json"))).RootElement;

    /// <summary>The datatype of each tensor the exporter wrote, by name.</summary>
    private static readonly Dictionary<string, string> Datatypes = new()
    {
        ["sensors"] = "FP32",
        ["fault_probability"] = "FP32",
        ["x"] = "FP32",
        ["recipe"] = "INT64",
        ["logits"] = "FP32",
        ["label"] = "INT64",
        ["image"] = "FP32",
        ["probabilities"] = "FP32",
    };

    private readonly HttpClient _http = fixture.Http;

    public static TheoryData<string> ModelNames => [.. Models];

    [Fact]
    public async Task Metadata_OfAModelWithoutModelJson_IsItsOnnxSignature()
    {
        var metadata = JsonNode.Parse(await _http.GetStringAsync("/v2/models/fab-recipe"))!;

        Assert.Equal("""[{"name":"x","datatype":"FP32","shape":[-1,4]},{"name":"recipe","datatype":"INT64","shape":[-1,1]}]""", metadata["inputs"]!.ToJsonString());
        Assert.Equal("""[{"name":"logits","datatype":"FP32","shape":[-1,2]},{"name":"label","datatype":"INT64","shape":[-1]}]""", metadata["outputs"]!.ToJsonString());
    }

    [Fact]
    public async Task Config_IsCompletedFromTheSignature_AndModelJsonOverridesWhatItNames()
    {
        var recipe = JsonNode.Parse(await _http.GetStringAsync("/v2/models/fab-recipe/config"))!;
        var mlp = JsonNode.Parse(await _http.GetStringAsync("/v2/models/fab-sensor-mlp/config"))!;

        Assert.Equal("onnxruntime_onnx", (string?)recipe["platform"]);
        Assert.Equal(64, (int?)recipe["max_batch_size"]);
        Assert.Equal("""{"name":"recipe","data_type":"TYPE_INT64","dims":[1]}""", recipe["input"]![1]!.ToJsonString());
        Assert.Equal(0.5, (double?)recipe["threshold"]);
        Assert.Equal(0.7, (double?)mlp["threshold"]);
        Assert.Equal("rf_power", (string?)mlp["input"]![0]!["features"]![0]);
        Assert.Equal(12, mlp["input"]![0]!["features"]!.AsArray().Count);
    }

    [Fact]
    public async Task RepositoryIndex_ListsEveryFolder_AndTheBadConfigurationAloneIsUnavailableNamingItsField()
    {
        var index = JsonNode.Parse(await (await _http.PostAsync("/v2/repository/index", null)).Content.ReadAsStringAsync())!.AsArray();

        Assert.All(Models, m => Assert.Equal("READY", (string?)index.Single(e => (string?)e!["name"] == m)!["state"]));
        var broken = index.Single(e => (string?)e!["name"] == "broken-config")!;
        Assert.Equal("UNAVAILABLE", (string?)broken["state"]);
        Assert.Contains("batching.max_batch_size", (string?)broken["reason"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.PostAsync("/v2/models/broken-config/infer", Json("{}"))).StatusCode);
    }

    [Fact]
    public async Task UnloadThenLoad_TakesTheModelOutOfServiceAndBack()
    {
        var request = JsonRequest("fab-sensor-mlp");

        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("/v2/repository/models/fab-sensor-mlp/unload", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.PostAsync("/v2/models/fab-sensor-mlp/infer", Json(request))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.PostAsync("/v2/repository/models/fab-sensor-mlp/unload", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("/v2/repository/models/fab-sensor-mlp/load", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("/v2/models/fab-sensor-mlp/infer", Json(request))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.PostAsync("/v2/repository/models/no-such-model/load", null)).StatusCode);
        var failed = await _http.PostAsync("/v2/repository/models/broken-config/load", null);
        Assert.Equal(HttpStatusCode.BadRequest, failed.StatusCode);
        Assert.Contains("batching.max_batch_size", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public async Task Json_EveryOutput_MatchesTheExporter(string model)
    {
        using var response = await _http.PostAsync($"/v2/models/{model}/infer", Json(JsonRequest(model)));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);

        var outputs = JsonNode.Parse(body)!["outputs"]!.AsArray();
        Assert.Equal(Outputs(model).Select(o => o.Name), outputs.Select(o => (string?)o!["name"]));
        foreach (var output in outputs)
        {
            var name = (string)output!["name"]!;
            Assert.Equal(Datatypes[name], (string?)output["datatype"]);
            AssertClose(model, name, output["shape"]!.AsArray().Select(d => (long)d!).ToArray(), output["data"]!.AsArray().Select(d => (double)d!).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public async Task BinaryTensors_EveryOutput_MatchesTheExporter(string model)
    {
        var inputs = Inputs(model);
        var header = new JsonObject
        {
            ["inputs"] = new JsonArray([.. inputs.Select(i => new JsonObject
            {
                ["name"] = i.Name, ["datatype"] = Datatypes[i.Name], ["shape"] = new JsonArray([.. i.Shape.Select(d => JsonValue.Create(d))]),
                ["parameters"] = new JsonObject { ["binary_data_size"] = Bytes(i.Name, i.Data).Length },
            })]),
            ["parameters"] = new JsonObject { ["binary_data_output"] = true },
        };
        using var response = await _http.PostAsync(
            $"/v2/models/{model}/infer", BinaryBody(header.ToJsonString(), [.. inputs.SelectMany(i => Bytes(i.Name, i.Data))]));
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.IsSuccessStatusCode, Encoding.UTF8.GetString(body));

        var length = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), CultureInfo.InvariantCulture);
        var offset = length;
        foreach (var output in JsonNode.Parse(body.AsSpan(0, length))!["outputs"]!.AsArray())
        {
            var name = (string)output!["name"]!;
            var size = (int)output["parameters"]!["binary_data_size"]!;
            AssertClose(model, name, output["shape"]!.AsArray().Select(d => (long)d!).ToArray(), Values(Datatypes[name], body.AsSpan(offset, size)));
            offset += size;
        }

        Assert.Equal(body.Length, offset);
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public async Task Grpc_EveryOutput_MatchesTheExporter(string model)
    {
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(fixture.Channel);
        var request = new ModelInferRequest { ModelName = model };
        foreach (var input in Inputs(model))
        {
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = Datatypes[input.Name] };
            tensor.Shape.Add(input.Shape);
            request.Inputs.Add(tensor);
            request.RawInputContents.Add(ByteString.CopyFrom(Bytes(input.Name, input.Data)));
        }

        var response = await client.ModelInferAsync(request);

        Assert.Equal(Outputs(model).Select(o => o.Name), response.Outputs.Select(o => o.Name));
        for (var i = 0; i < response.Outputs.Count; i++)
        {
            var output = response.Outputs[i];
            Assert.Equal(Datatypes[output.Name], output.Datatype);
            AssertClose(model, output.Name, [.. output.Shape], Values(output.Datatype, response.RawOutputContents[i].Span));
        }
    }

    [Fact]
    public async Task PythonGrpcio_ClientWithStubsFromTheProto_GetsTheExportersAnswers()
    {
        var request = new JsonObject
        {
            ["inputs"] = new JsonObject(Inputs("fab-recipe").Select(i => KeyValuePair.Create<string, JsonNode?>(i.Name, new JsonObject
            {
                ["datatype"] = Datatypes[i.Name],
                ["shape"] = new JsonArray([.. i.Shape.Select(d => JsonValue.Create(d))]),
                ["data"] = new JsonArray([.. i.Data.Select(d => Datatypes[i.Name] == "INT64" ? JsonValue.Create((long)d) : JsonValue.Create(d))]),
            }))),
        };
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "ForeignModels", "grpc_client.py"), fixture.GrpcAddress,
            Path.Combine(AppContext.BaseDirectory, "Protos"), "fab-recipe", request.ToJsonString(),
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var python = Process.Start(start)!;
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = python.StandardError.ReadToEndAsync();
        Assert.True(python.WaitForExit(TimeSpan.FromSeconds(60)), "The Python client did not finish.");
        Assert.True(python.ExitCode == 0, await stderr);

        var answer = JsonNode.Parse(await stdout)!;
        Assert.Equal("python-grpcio", (string?)answer["id"]);
        foreach (var name in new[] { "logits", "label" })
        {
            var output = answer["outputs"]![name]!;
            Assert.Equal(Datatypes[name], (string?)output["datatype"]);
            AssertClose("fab-recipe", name, output["shape"]!.AsArray().Select(d => (long)d!).ToArray(), output["data"]!.AsArray().Select(d => (double)d!).ToArray());
        }
    }

    [Fact]
    public async Task Outputs_NamedInTheRequest_AreTheOnlyOnesAnswered()
    {
        var request = JsonNode.Parse(JsonRequest("fab-recipe"))!;
        request["outputs"] = new JsonArray(new JsonObject { ["name"] = "label" });

        var body = JsonNode.Parse(await (await _http.PostAsync("/v2/models/fab-recipe/infer", Json(request.ToJsonString()))).Content.ReadAsStringAsync())!;

        Assert.Equal("label", (string?)body["outputs"]!.AsArray().Single()!["name"]);
        AssertClose("fab-recipe", "label", [4], body["outputs"]![0]!["data"]!.AsArray().Select(d => (double)d!).ToArray());
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}""", "input 'recipe' is required")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,5],"datatype":"FP32","data":[1,2,3,4,5]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[1]}]}""", "does not match the model's [-1,4]")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"recipe","shape":[2,1],"datatype":"INT64","data":[1,2]}]}""", "Every input holds the same rows")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"recipe","shape":[1,1],"datatype":"FP32","data":[1.5]}]}""", "does not fit the model's INT64 input")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,4],"datatype":"BOOL","data":[true,true,false,true]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[1]}]}""", "BOOL cannot feed the model's FP32 input")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[1]},{"name":"y","shape":[1],"datatype":"FP32","data":[1]}]}""", "has no input 'y'")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[1]}],"outputs":[{"name":"score"}]}""", "has no output 'score'")]
    [InlineData("""{"inputs":[{"name":"x","shape":[65,4],"datatype":"FP32","parameters":{"binary_data_size":1040}},{"name":"recipe","shape":[65,1],"datatype":"INT64","parameters":{"binary_data_size":520}}]}""", "at most 64")]
    public async Task BadRequest_NamesTheTensorAtFault(string request, string error)
    {
        using var response = request.Contains("binary_data_size", StringComparison.Ordinal)
            ? await _http.PostAsync("/v2/models/fab-recipe/infer", BinaryBody(request, new byte[1560]))
            : await _http.PostAsync("/v2/models/fab-recipe/infer", Json(request));

        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge, response.StatusCode.ToString());
        Assert.Contains(error, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static List<(string Name, long[] Shape, double[] Data)> Tensors(string model, string part) =>
        [.. Expected.GetProperty(model).GetProperty(part).EnumerateObject().Select(t => (
            t.Name,
            t.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
            t.Value.GetProperty("data").EnumerateArray().Select(d => d.GetDouble()).ToArray()))];

    private static List<(string Name, long[] Shape, double[] Data)> Inputs(string model) => Tensors(model, "inputs");

    private static List<(string Name, long[] Shape, double[] Data)> Outputs(string model) => Tensors(model, "outputs");

    private static string JsonRequest(string model) => new JsonObject
    {
        ["inputs"] = new JsonArray([.. Inputs(model).Select(i => new JsonObject
        {
            ["name"] = i.Name, ["datatype"] = Datatypes[i.Name], ["shape"] = new JsonArray([.. i.Shape.Select(d => JsonValue.Create(d))]),
            ["data"] = new JsonArray([.. i.Data.Select(d => Datatypes[i.Name] == "INT64" ? JsonValue.Create((long)d) : JsonValue.Create(d))]),
        })]),
    }.ToJsonString();

    private static byte[] Bytes(string name, double[] data) =>
        Datatypes[name] == "INT64"
            ? [.. data.SelectMany(d => BitConverter.GetBytes((long)d))]
            : Fp32Bytes(data.Select(d => (float)d));

    private static double[] Values(string datatype, ReadOnlySpan<byte> bytes)
    {
        var size = datatype == "INT64" ? 8 : 4;
        var values = new double[bytes.Length / size];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = datatype == "INT64"
                ? BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..])
                : BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
        }

        return values;
    }

    private static void AssertClose(string model, string output, long[] shape, double[] values)
    {
        var expected = Outputs(model).Single(o => o.Name == output);
        Assert.Equal(expected.Shape, shape);
        Assert.Equal(expected.Data.Length, values.Length);
        Assert.All(expected.Data.Zip(values), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4, $"{output}: {p.Second} against the exporter's {p.First}"));
    }
}
