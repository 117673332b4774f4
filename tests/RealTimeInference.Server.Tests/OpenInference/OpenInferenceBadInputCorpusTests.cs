using System.Net;
using System.Text;
using RealTimeInference.Server.Tests.Predictions;
using static RealTimeInference.Server.Tests.OpenInference.OpenInferenceRestTests;

namespace RealTimeInference.Server.Tests.OpenInference;

/// <summary>The bad-input corpus over V2 bodies: lies about shapes, datatypes and binary sizes, huge declared shapes, and mutated JSON.</summary>
public sealed class OpenInferenceBadInputCorpusTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Valid = """{"id":"x","inputs":[{"name":"Features","shape":[2,3],"datatype":"FP32","data":[350,1013,100,351,1012,99]}],"outputs":[{"name":"Probability.output"}]}""";

    private static readonly string[] Tokens =
        ["{", "}", "[", "]", ",", ":", "\"", "null", "true", "NaN", "-Infinity", "1e400", "-1", "9223372036854775807", "\"FP64\"", "\"BYTES\"", "\"shape\"", "\"data\"", "\\u0000", "\uFFFF", " "];

    private static readonly string[] Models = ["sensor-anomaly", "sensor-anomaly-lite", "yield-forecast", "wafer-defect"];

    private readonly HttpClient _client = server.CreateClient();

    /// <summary>Requests that lie about what they carry: each must be a 400 (or 413 for more rows than allowed), never a 5xx.</summary>
    public static TheoryData<string, string?, int> Lies => new()
    {
        // shape lies
        { """{"inputs":[{"name":"Features","shape":[4,3],"datatype":"FP32","data":[1,2,3]}]}""", null, 3 },
        { """{"inputs":[{"name":"Features","shape":[1,3,1,1,1,1,1,1,1],"datatype":"FP32","data":[1,2,3]}]}""", null, 0 },
        { """{"inputs":[{"name":"Features","shape":[-1,3],"datatype":"FP32","data":[1,2,3]}]}""", null, 0 },
        { """{"inputs":[{"name":"Features","shape":[1,"3"],"datatype":"FP32","data":[1,2,3]}]}""", null, 0 },
        // huge declared shapes
        { """{"inputs":[{"name":"Features","shape":[9223372036854775807,9223372036854775807],"datatype":"FP32","data":[1,2,3]}]}""", null, 0 },
        { """{"inputs":[{"name":"Features","shape":[2147483647,3],"datatype":"FP32","parameters":{"binary_data_size":12}}]}""", "bin", 12 },
        { """{"inputs":[{"name":"Features","shape":[4611686018427387904,3],"datatype":"FP64","parameters":{"binary_data_size":24}}]}""", "bin", 24 },
        // datatype lies
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"INT8","data":[1000,2,3]}]}""", null, 0 },
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"UINT32","data":[-1,2,3]}]}""", null, 0 },
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[true,2,3]}]}""", null, 0 },
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"BOOL","data":[true,false,true]}]}""", null, 0 },
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"fp32","data":[1,2,3]}]}""", null, 0 },
        // binary sizes that do not add up
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}}]}""", "bin", 11 },
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}}]}""", "bin", 13 },
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP64","parameters":{"binary_data_size":12}}]}""", "bin", 12 },
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":9223372036854775807}}]}""", "bin", 12 },
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12},"data":[1,2,3]}]}""", "bin", 12 },
        { """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""", "bin", 12 },
        // too many rows: the one outcome vocabulary's too_large
        { """{"inputs":[{"name":"Features","shape":[10001,3],"datatype":"FP32","parameters":{"binary_data_size":120012}}]}""", "bin", 120012 },
    };

    [Theory]
    [MemberData(nameof(Lies))]
    public async Task Lie_IsRefusedWith4xx_NeverA5xx(string header, string? binary, int binaryBytes)
    {
        HttpContent content = binary is null ? new StringContent(header, Encoding.UTF8, "application/json") : BinaryBody(header, new byte[binaryBytes]);

        using var response = await _client.PostAsync("/v2/models/sensor-anomaly/infer", content);

        var status = (int)response.StatusCode;
        Assert.True(status is 400 or 413, $"{status}: {await response.Content.ReadAsStringAsync()}");
        Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ThreeThousandMutatedV2Bodies_NeverGetA5xx_AndTheServerKeepsServing()
    {
        var random = new Random(20261201);
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < 3_000; i++)
        {
            var body = CorpusMutations.Mutate(random, Valid, Tokens);
            var (status, answer) = await CorpusMutations.PostMutatedV2Async(_client, random, $"/v2/models/{Models[random.Next(Models.Length)]}/infer", body);
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status < 500, $"request {i} got {status}: {answer}");
        }

        Assert.True(statuses.Where(s => s.Key is >= 400 and < 500).Sum(s => s.Value) > 2_000, string.Join(", ", statuses));
        using var after = await _client.PostAsync("/v2/models/sensor-anomaly/infer", new StringContent(Valid, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}
