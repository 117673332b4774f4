using System.Net;
using System.Text;
using Grpc.Core;
using RealTimeInference.Server.OpenInference.Grpc;
using RealTimeInference.Server.Tests.Predictions;
using static RealTimeInference.Server.Tests.OpenInference.OpenInferenceRestTests;

namespace RealTimeInference.Server.Tests.OpenInference;

/// <summary>
/// The probe of the generic path (every datatype, many inputs, no fixed FP32 row): lies about shapes,
/// datatypes and binary sizes, huge declared shapes, gRPC messages over the limit, and mutated bodies
/// over the fab's own models; every one a 4xx (gRPC: a status), never a 5xx, and the server serves on.
/// </summary>
public sealed class ForeignModelBadInputTests(ForeignModelsFixture fixture) : IClassFixture<ForeignModelsFixture>
{
    private static readonly (string Model, string Body)[] Valid =
    [
        ("fab-recipe", """{"inputs":[{"name":"x","shape":[2,4],"datatype":"FP32","data":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]},{"name":"recipe","shape":[2,1],"datatype":"INT64","data":[1,3]}],"outputs":[{"name":"label"}]}"""),
        ("fab-sensor-mlp", """{"inputs":[{"name":"sensors","shape":[1,12],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}"""),
        ("fab-defect-cnn", $$"""{"inputs":[{"name":"image","shape":[1,1,28,28],"datatype":"FP32","data":[{{string.Join(',', Enumerable.Range(0, 784).Select(i => i % 7 == 0 ? "1" : "0"))}}]}]}"""),
    ];

    private static readonly string[] Tokens =
        ["{", "}", "[", "]", ",", ":", "\"", "null", "true", "-1", "0", "1.5", "9223372036854775807", "\"INT64\"", "\"BYTES\"", "\"BOOL\"", "\"FP16\"", "\"UINT8\"", "\"shape\"", "\"data\"", "\"x\"", "\"recipe\"", "\\u0000", " "];

    private readonly HttpClient _http = fixture.Http;

    /// <summary>Lies each answered 400 (or 413 past a limit).</summary>
    public static TheoryData<string, string, string?, int> Lies => new()
    {
        // A huge declared batch with a few bytes behind it: refused before anything is allocated.
        { "fab-defect-cnn", """{"inputs":[{"name":"image","shape":[2147483647,1,28,28],"datatype":"FP32","parameters":{"binary_data_size":3136}}]}""", "bin", 3136 },
        { "fab-defect-cnn", """{"inputs":[{"name":"image","shape":[1,1,4294967296,4294967296],"datatype":"FP32","data":[1]}]}""", null, 0 },
        { "fab-defect-cnn", """{"inputs":[{"name":"image","shape":[1,1,-28,-28],"datatype":"FP32","data":[1]}]}""", null, 0 },
        // INT64 bytes that are not whole values, or fewer than declared.
        { "fab-recipe", """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"recipe","shape":[1,1],"datatype":"INT64","parameters":{"binary_data_size":7}}]}""", "bin", 7 },
        { "fab-recipe", """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}},{"name":"recipe","shape":[1,1],"datatype":"INT64","parameters":{"binary_data_size":8}}]}""", "bin", 20 },
        { "fab-recipe", """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}},{"name":"recipe","shape":[1,1],"datatype":"INT64","parameters":{"binary_data_size":9223372036854775807}}]}""", "bin", 24 },
        // A datatype the input cannot take, and an input given twice.
        { "fab-recipe", """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"recipe","shape":[1,1],"datatype":"BYTES","data":["3"]}]}""", null, 0 },
        { "fab-recipe", """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[3]}]}""", null, 0 },
        { "fab-recipe", """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[9.3e18]}]}""", null, 0 },
        // Output selection that lies.
        { "fab-recipe", """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"recipe","shape":[1,1],"datatype":"INT64","data":[3]}],"outputs":[{"name":"label"},{"name":"label"}]}""", null, 0 },
    };

    [Theory]
    [MemberData(nameof(Lies))]
    public async Task Lie_IsRefusedWith4xx_NeverA5xx(string model, string header, string? binary, int binaryBytes)
    {
        HttpContent content = binary is null ? new StringContent(header, Encoding.UTF8, "application/json") : BinaryBody(header, new byte[binaryBytes]);

        using var response = await _http.PostAsync($"/v2/models/{model}/infer", content);

        var status = (int)response.StatusCode;
        Assert.True(status is 400 or 413, $"{status}: {await response.Content.ReadAsStringAsync()}");
        Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoThousandMutatedBodies_OverTheFabsModels_NeverGetA5xx_AndTheServerKeepsServing()
    {
        var random = new Random(20261207);
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < 2_000; i++)
        {
            var (model, valid) = Valid[random.Next(Valid.Length)];
            var body = CorpusMutations.Mutate(random, valid, Tokens);
            var (status, answer) = await CorpusMutations.PostMutatedV2Async(_http, random, $"/v2/models/{model}/infer", body);
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status < 500, $"request {i} to {model} got {status}: {body} -> {answer}");
        }

        Assert.True(statuses.Where(s => s.Key is >= 400 and < 500).Sum(s => s.Value) > 1_000, string.Join(", ", statuses));
        foreach (var (model, valid) in Valid)
        {
            using var after = await _http.PostAsync($"/v2/models/{model}/infer", new StringContent(valid, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }
    }

    [Fact]
    public async Task Grpc_AMessageOverTheLimit_IsResourceExhausted_AndLyingRawContentsInvalid()
    {
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(fixture.Channel);
        var huge = new ModelInferRequest { ModelName = "fab-defect-cnn" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "image", Datatype = "FP32" };
        input.Shape.Add([1, 1, 28, 28]);
        huge.Inputs.Add(input);
        huge.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(new byte[9 * 1024 * 1024]));

        var tooLarge = await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(huge).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, tooLarge.StatusCode);

        // Under OpenInference:MaxRequestBytes (8 MiB) a message is read, as a REST body would be (gRPC's own default stops at 4 MiB), and then its size lie found.
        var large = new ModelInferRequest { ModelName = "fab-defect-cnn" };
        large.Inputs.Add(input);
        large.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(new byte[6 * 1024 * 1024]));
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(large).ResponseAsync)).StatusCode);

        var lying = new ModelInferRequest { ModelName = "fab-defect-cnn" };
        lying.Inputs.Add(input);
        lying.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(new byte[3135]));
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(lying).ResponseAsync)).StatusCode);

        var fine = new ModelInferRequest { ModelName = "fab-defect-cnn" };
        fine.Inputs.Add(input);
        fine.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(new byte[3136]));
        Assert.NotEmpty((await client.ModelInferAsync(fine)).Outputs);
    }
}
