using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Grpc.Core;
using RealTimeInference.Server.OpenInference.Grpc;

namespace RealTimeInference.OipBench;

/// <summary>The cases, each over one shared client: HTTP/1.1 for REST, gRPC channels for V2 gRPC. Every answer is checked, cheaply.</summary>
internal sealed class Cases(HttpClient http, GRPCInferenceService.GRPCInferenceServiceClient[] grpc, Payloads payloads, TimeSpan timeout)
{
    public const string PredictBatch = "predict-batch";
    public const string Predict = "predict";
    public const string MlpSingle = "v2-mlp-single";
    public const string CnnOpen100 = "v2-cnn-binary-100";
    public const string Readings = "readings-100-chambers";

    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeHeaderValue Octets = new("application/octet-stream");

    /// <summary>The cases in the order a repeat runs them: the 1,000-row ones after their baseline, then the single-row ones after theirs.</summary>
    public IReadOnlyList<BenchCase> All(int batchWorkers, int singleWorkers)
    {
        var rows = payloads.Rows;
        var count = Encoding.UTF8.GetBytes($"\"count\":{rows}");
        var shape = Encoding.UTF8.GetBytes($"\"shape\":[{rows},1]");
        var prediction = "\"prediction\":"u8.ToArray();
        return
        [
            new(PredictBatch, rows, batchWorkers, PredictBatch, (i, ct) => PostAsync("/predict-batch", Json, payloads.PredictBatch[i % Payloads.Batches], null, count, ct)),
            new("v2-json", rows, batchWorkers, PredictBatch, (i, ct) => PostAsync("/v2/models/sensor-anomaly/infer", Json, payloads.V2Json[i % Payloads.Batches], null, shape, ct)),
            new("v2-binary", rows, batchWorkers, PredictBatch, (i, ct) => PostAsync("/v2/models/sensor-anomaly/infer", Octets, payloads.V2Binary[i % Payloads.Batches].Body, payloads.V2Binary[i % Payloads.Batches].HeaderLength, [], ct)),
            new("v2-grpc", rows, batchWorkers, PredictBatch, (i, ct) => InferAsync(i, payloads.GrpcRaw[i % Payloads.Batches], rows, ct)),
            new("v2-grpc-typed", rows, batchWorkers, PredictBatch, (i, ct) => InferAsync(i, payloads.GrpcTyped[i % Payloads.Batches], rows, ct)),
            new(Predict, 1, singleWorkers, Predict, (i, ct) => PostAsync("/predict", Json, payloads.Predict[i % payloads.Predict.Length], null, prediction, ct)),
            new("v2-grpc-single", 1, singleWorkers, Predict, (i, ct) => InferAsync(i, payloads.GrpcSingle[i % payloads.GrpcSingle.Length], 1, ct)),
            // The fab's own models (PyTorch's exports, served from the signature): a 12-sensor MLP one row a request, closed loop; a CNN at 100 images/s.
            new(MlpSingle, 1, singleWorkers, Predict, (i, ct) => PostAsync("/v2/models/fab-sensor-mlp/infer", Json, payloads.MlpSingle[i % payloads.MlpSingle.Length], null, "\"fault_probability\""u8.ToArray(), ct)),
            // Readings with context over 100 chambers' own models (bench/readings.sh serves them), 20 sensors each.
            new(Readings, rows, batchWorkers, PredictBatch, (i, ct) => PostAsync("/readings", Json, payloads.Readings[i % Payloads.Batches], null, count, ct)),
            new(CnnOpen100, 1, 8, CnnOpen100, (i, ct) => PostAsync("/v2/models/fab-defect-cnn/infer", Octets, payloads.CnnBinary[i % payloads.CnnBinary.Length].Body, payloads.CnnBinary[i % payloads.CnnBinary.Length].HeaderLength, [], ct, outputBytes: 3 * sizeof(float)), Rate: 100),
        ];
    }

    private async Task<Outcome> PostAsync(
        string path, MediaTypeHeaderValue type, byte[] body, int? headerLength, byte[] expect, CancellationToken cancellationToken, int? outputBytes = null)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = type;
        if (headerLength is { } length)
        {
            content.Headers.Add("Inference-Header-Content-Length", length.ToString(CultureInfo.InvariantCulture));
        }

        using var response = await http.PostAsync(path, content, cancellationToken);
        var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return Outcome.Refused(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
        }

        if (expect.Length > 0 && answer.AsSpan().IndexOf(expect) < 0)
        {
            return Outcome.Failed($"answer without {Encoding.UTF8.GetString(expect)}");
        }

        if (headerLength is not null)
        {
            return response.Headers.TryGetValues("Inference-Header-Content-Length", out var values)
                && int.TryParse(values.FirstOrDefault(), CultureInfo.InvariantCulture, out var answerHeader)
                && answer.Length == answerHeader + (outputBytes ?? (payloads.Rows * sizeof(float)))
                ? Outcome.Success
                : Outcome.Failed("binary answer of the wrong size");
        }

        return Outcome.Success;
    }

    private async Task<Outcome> InferAsync(int i, ModelInferRequest request, int rows, CancellationToken cancellationToken)
    {
        try
        {
            var client = grpc[i % grpc.Length];
            var response = await client.ModelInferAsync(request, deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);
            return response.RawOutputContents.Count == 1 && response.RawOutputContents[0].Length == rows * sizeof(float)
                ? Outcome.Success
                : Outcome.Failed("gRPC answer without one raw output of the rows' size");
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            return Outcome.Refused("grpc:" + e.StatusCode);
        }
    }
}
