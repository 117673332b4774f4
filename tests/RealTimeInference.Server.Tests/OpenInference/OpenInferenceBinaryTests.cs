using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using static RealTimeInference.Server.Tests.OpenInference.OpenInferenceRestTests;

namespace RealTimeInference.Server.Tests.OpenInference;

/// <summary>Triton's binary tensor extension: the same bits as JSON for the same rows, and bodies whose sizes do not add up refused.</summary>
public sealed class OpenInferenceBinaryTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Infer = "/v2/models/sensor-anomaly/infer";

    private readonly HttpClient _client = server.CreateClient();

    private static string BinaryHeader(int rows, long size, string extra = "") =>
        $$$"""{"id":"bin",{{{extra}}}"inputs":[{"name":"Features","shape":[{{{rows}}},3],"datatype":"FP32","parameters":{"binary_data_size":{{{size}}}}}]}""";

    private async Task<float[]> JsonScoresAsync()
    {
        var body = $$"""{"inputs":[{"name":"Features","shape":[{{Rows.Length}},3],"datatype":"FP32","data":[{{Flat(Rows)}}]}]}""";
        var response = await _client.PostAsync(Infer, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Data(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    [Fact]
    public async Task BinaryInput_GivesTheSameBitsAsJson()
    {
        var data = Fp32Bytes(Rows.SelectMany(r => r));

        var response = await _client.PostAsync(Infer, BinaryBody(BinaryHeader(Rows.Length, data.Length), data));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("bin", body.GetProperty("id").GetString());
        Assert.Equal((await JsonScoresAsync()).Select(BitConverter.SingleToInt32Bits), Data(body).Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData("\"parameters\":{\"binary_data_output\":true},", "")]
    [InlineData("", ",\"outputs\":[{\"name\":\"Probability.output\",\"parameters\":{\"binary_data\":true}}]")]
    public async Task BinaryOutput_FollowsTheJsonHeader_WithTheSameBitsAsJson(string parameters, string outputs)
    {
        var data = Fp32Bytes(Rows.SelectMany(r => r));
        var header = BinaryHeader(Rows.Length, data.Length, parameters)[..^1] + outputs + "}";

        var response = await _client.PostAsync(Infer, BinaryBody(header, data));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), CultureInfo.InvariantCulture);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var json = JsonDocument.Parse(bytes.AsMemory(0, headerLength)).RootElement;
        var output = json.GetProperty("outputs")[0];
        Assert.False(output.TryGetProperty("data", out _));
        Assert.Equal(Rows.Length * 4, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(headerLength + (Rows.Length * 4), bytes.Length);
        var scores = Enumerable.Range(0, Rows.Length).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(headerLength + (i * 4)))).ToArray();
        Assert.Equal((await JsonScoresAsync()).Select(BitConverter.SingleToInt32Bits), scores.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public async Task BinaryFp64Input_GivesTheSameScoresAsFp32()
    {
        var values = Rows.SelectMany(r => r).ToArray();
        var data = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * 8), values[i]);
        }

        var header = BinaryHeader(Rows.Length, data.Length).Replace("FP32", "FP64", StringComparison.Ordinal);
        var response = await _client.PostAsync(Infer, BinaryBody(header, data));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(await JsonScoresAsync(), Data(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement));
    }

    public static TheoryData<string, int, string> SizesThatDoNotAddUp => new()
    {
        // binary_data_size, bytes sent, what the error names
        { "36", 40, "add up to 36" },
        { "40", 40, "takes 36" },
        { "36", 32, "more than the 32 bytes left" },
        { "-4", 36, "binary_data_size must be a whole number" },
        { "\"36\"", 36, "binary_data_size must be a whole number" },
    };

    [Theory]
    [MemberData(nameof(SizesThatDoNotAddUp))]
    public async Task BinarySizesThatDoNotAddUp_Return400(string declared, int sent, string error)
    {
        var header = BinaryHeader(3, 0).Replace("\"binary_data_size\":0", "\"binary_data_size\":" + declared, StringComparison.Ordinal);

        var response = await _client.PostAsync(Infer, BinaryBody(header, new byte[sent]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(error, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("99999")]
    [InlineData("ten")]
    public async Task BadInferenceHeaderContentLength_Returns400(string length)
    {
        var content = BinaryBody(BinaryHeader(1, 12), new byte[12]);
        content.Headers.Remove("Inference-Header-Content-Length");
        content.Headers.Add("Inference-Header-Content-Length", length);

        var response = await _client.PostAsync(Infer, content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Inference-Header-Content-Length", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task BinaryNaN_Returns400()
    {
        var data = Fp32Bytes([350, float.NaN, 100]);

        var response = await _client.PostAsync(Infer, BinaryBody(BinaryHeader(1, data.Length), data));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("finite", await response.Content.ReadAsStringAsync());
    }
}
