using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RealTimeInference.Server.OpenInference.Grpc;
using static RealTimeInference.Server.Tests.OpenInference.OpenInferenceRestTests;

namespace RealTimeInference.Server.Tests.OpenInference;

/// <summary>The real server process with its h2c gRPC port (OpenInference:GrpcPort), and a gRPC channel to it.</summary>
public sealed class GrpcServerFixture : IAsyncLifetime
{
    private RealServer? _server;

    internal RealServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public GrpcChannel Channel { get; private set; } = null!;

    /// <summary>Where the h2c gRPC port listens.</summary>
    public Uri GrpcAddress { get; private set; } = null!;

    public GRPCInferenceService.GRPCInferenceServiceClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var port = RealServer.FreePort();
        _server = await RealServer.StartAsync($"--OpenInference:GrpcPort={port}", "--OpenInference:GrpcHost=127.0.0.1");
        GrpcAddress = new Uri($"http://127.0.0.1:{port}");
        Channel = GrpcChannel.ForAddress(GrpcAddress);
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(Channel);
    }

    public Task DisposeAsync()
    {
        Channel.Dispose();
        _server?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary><c>inference.GRPCInferenceService</c> over real HTTP/2 (h2c) against the real Kestrel host, by Grpc.Net.Client.</summary>
public sealed class GrpcInferenceTests(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client = fixture.Client;

    private static ModelInferRequest RawRequest(string model, IReadOnlyList<float[]> rows)
    {
        var request = new ModelInferRequest { ModelName = model, Id = "grpc-7" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "Features", Datatype = "FP32" };
        input.Shape.Add([rows.Count, 3]);
        request.Inputs.Add(input);
        request.RawInputContents.Add(ByteString.CopyFrom(Fp32Bytes(rows.SelectMany(r => r))));
        return request;
    }

    /// <summary>One reading of the sensor model as typed <c>fp32_contents</c>.</summary>
    internal static ModelInferRequest OneReading()
    {
        var request = new ModelInferRequest { ModelName = "sensor-anomaly" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "Features", Datatype = "FP32", Contents = new InferTensorContents() };
        input.Shape.Add([1, 3]);
        input.Contents.Fp32Contents.Add([350f, 1013f, 100f]);
        request.Inputs.Add(input);
        return request;
    }

    private static float[] Scores(ModelInferResponse response)
    {
        var raw = response.RawOutputContents[0].ToByteArray();
        return [.. Enumerable.Range(0, raw.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(i * 4)))];
    }

    [Fact]
    public async Task HealthAndServerMetadata_OverHttp2()
    {
        Assert.True((await _client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await _client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.True((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "sensor-anomaly" })).Ready);
        Assert.False((await _client.ModelReadyAsync(new ModelReadyRequest { Name = "no-such-model" })).Ready);
        var metadata = await _client.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("realtime-inference", metadata.Name);
        Assert.Contains("binary_tensor_data", metadata.Extensions);
    }

    [Fact]
    public async Task ModelMetadata_DeclaresTheSignature_AndUnknownModelIsNotFound()
    {
        var metadata = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "sensor-anomaly", Version = "1" });

        Assert.Equal("onnxruntime_onnx", metadata.Platform);
        Assert.Equal(["1"], metadata.Versions);
        Assert.Equal("Features", metadata.Inputs[0].Name);
        Assert.Equal([-1L, 3L], metadata.Inputs[0].Shape);
        Assert.Equal("Probability.output", metadata.Outputs[0].Name);
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "no-such-model" }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task ModelInfer_RawAndTypedContents_GiveTheSameBitsAsRestAndPredictBatch()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.Url };
        var batch = "[" + string.Join(",", Rows.Select(r => string.Create(
            CultureInfo.InvariantCulture, $$"""{"temperature":{{r[0]:R}},"pressure":{{r[1]:R}},"flow_rate":{{r[2]:R}}}"""))) + "]";
        var expected = JsonDocument.Parse(await (await http.PostAsync("/predict-batch", new StringContent(batch, Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync())
            .RootElement.GetProperty("predictions").EnumerateArray().Select(p => BitConverter.SingleToInt32Bits(p.GetSingle())).ToArray();

        var raw = await _client.ModelInferAsync(RawRequest("sensor-anomaly", Rows));
        var typed = RawRequest("sensor-anomaly", Rows);
        typed.RawInputContents.Clear();
        typed.Inputs[0].Contents = new InferTensorContents();
        typed.Inputs[0].Contents.Fp32Contents.Add(Rows.SelectMany(r => r));
        var typedResponse = await _client.ModelInferAsync(typed);

        Assert.Equal("sensor-anomaly", raw.ModelName);
        Assert.Equal("1", raw.ModelVersion);
        Assert.Equal("grpc-7", raw.Id);
        Assert.Equal("Probability.output", raw.Outputs[0].Name);
        Assert.Equal("FP32", raw.Outputs[0].Datatype);
        Assert.Equal([Rows.Length, 1L], raw.Outputs[0].Shape);
        Assert.Equal(expected, Scores(raw).Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(expected, Scores(typedResponse).Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public async Task ModelInfer_BadTensors_AreInvalidArgument_UnknownModelNotFound_AndTheServerKeepsServing()
    {
        var wrongShape = RawRequest("sensor-anomaly", Rows);
        wrongShape.Inputs[0].Shape[1] = 4;
        var shortRaw = RawRequest("sensor-anomaly", Rows);
        shortRaw.RawInputContents[0] = ByteString.CopyFrom(new byte[10]);
        var badPriority = RawRequest("sensor-anomaly", Rows);
        badPriority.Parameters.Add("priority", new InferParameter { StringParam = "high" });

        // INT8 rides in int32 contents: 300 is no INT8 value.
        var wideInt8 = new ModelInferRequest { ModelName = "sensor-anomaly" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "Features", Datatype = "INT8", Contents = new InferTensorContents() };
        input.Shape.Add([1, 3]);
        input.Contents.IntContents.Add([100, 300, 100]);
        wideInt8.Inputs.Add(input);

        foreach (var bad in new[] { wrongShape, shortRaw, badPriority, wideInt8 })
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelInferAsync(bad));
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        }

        var missing = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelInferAsync(RawRequest("no-such-model", Rows)));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Equal(Rows.Length, Scores(await _client.ModelInferAsync(RawRequest("sensor-anomaly-lite", Rows))).Length);
    }

    [Fact]
    public async Task ModelInfer_TimeoutTheQueueCannotMeet_IsUnavailableWithRetryAfter()
    {
        var request = RawRequest("sensor-anomaly", Rows);
        request.Parameters.Add("timeout", new InferParameter { Int64Param = 1 });

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.ModelInferAsync(request));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.NotNull(error.Trailers.GetValue("retry-after"));
    }

    [Fact]
    public async Task ModelInfer_TheClientsCallDeadline_IsTheServersDeadlineToo()
    {
        // grpc-timeout as a client sends it, by hand, so that no client-side timer ends the call first.
        // 100 µs: Grpc.AspNetCore may end the call itself (DEADLINE_EXCEEDED) before the service sees
        // it; when the service does, the deadline is its own and the answer is the outcome vocabulary's
        // refusal (UNAVAILABLE with retry-after), which the call could not get without the deadline.
        var refusals = 0;
        for (var attempt = 0; attempt < 20 && refusals == 0; attempt++)
        {
            var (status, retryAfter) = await CallWithTimeoutAsync("100u");
            Assert.Contains(status, new[] { "4", "14" });
            if (status == "14")
            {
                Assert.NotNull(retryAfter);
                refusals++;
            }
        }

        Assert.True(refusals > 0, "the service never answered a call by its grpc-timeout");
        Assert.Equal(("0", null), await CallWithTimeoutAsync("30S"));
    }

    private async Task<(string Status, string? RetryAfter)> CallWithTimeoutAsync(string grpcTimeout)
    {
        using var h2 = new HttpClient();
        var message = RawRequest("sensor-anomaly", Rows).ToByteArray();
        var framed = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.CopyTo(framed, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.GrpcAddress, "/inference.GRPCInferenceService/ModelInfer"))
        {
            Content = new ByteArrayContent(framed),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("grpc-timeout", grpcTimeout);

        using var response = await h2.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        // A refusal comes trailers-only (in the headers); an answer has its status in the trailers.
        string? Value(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var trailing) ? trailing.Single()
            : response.Headers.TryGetValues(name, out var header) ? header.Single() : null;
        return (Value("grpc-status") ?? "missing", Value("retry-after"));
    }

    [Fact]
    public async Task ModelInfer_Predictions_AreStored_WithTheirSourceAndScores()
    {
        // Readings no other test sends, so their stored rows are told apart by their scores.
        float[][] rows = [[361.5f, 1004.25f, 97.5f], [338.75f, 1021.5f, 103.25f]];
        var scores = Scores(await _client.ModelInferAsync(RawRequest("sensor-anomaly", rows)));
        using var http = new HttpClient { BaseAddress = fixture.Server.Url };

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var stored = JsonDocument.Parse(await http.GetStringAsync("/predictions?limit=1000")).RootElement.GetProperty("items").EnumerateArray()
                .Where(item => item.GetProperty("source").GetString() == "grpc")
                .Select(item => item.GetProperty("prediction").GetSingle())
                .ToHashSet();
            if (scores.All(stored.Contains))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the gRPC predictions never reached the results store");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task RestOnTheMainPort_StillAnswers_WithTheGrpcPortSet()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.Url };

        var response = await http.GetAsync("/v2/health/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
