using Google.Protobuf;
using Google.Protobuf.Collections;
using Grpc.Core;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tensors;
using RealTimeInference.Server.OpenInference.Grpc;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Transport;
using GrpcStatus = Grpc.Core.Status;

namespace RealTimeInference.Server.OpenInference;

/// <summary>
/// <c>inference.GRPCInferenceService</c>: the Open Inference Protocol over gRPC, on the REST
/// endpoints' <see cref="OpenInferenceService"/>. Inputs as typed contents or
/// <c>raw_input_contents</c>; outputs always as <c>raw_output_contents</c>, as Triton answers.
/// </summary>
internal sealed class GrpcInferenceService(
    OpenInferenceService service, RequestMetrics metrics, IOptions<PredictionOptions> predictions, TimeProvider time)
    : GRPCInferenceService.GRPCInferenceServiceBase
{
    /// <summary>The metric label of every ModelInfer call.</summary>
    public const string InferEndpoint = "/inference.GRPCInferenceService/ModelInfer";

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = service.IsReady });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context) =>
        ReadyAsync(request);

    private async Task<ModelReadyResponse> ReadyAsync(ModelReadyRequest request) =>
        new() { Ready = await service.FindAsync(request.Name, request.Version).ConfigureAwait(false) is { } model && service.IsModelReady(model) };

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var metadata = service.ServerMetadata;
        var response = new ServerMetadataResponse { Name = metadata.Name, Version = metadata.Version };
        response.Extensions.Add(metadata.Extensions);
        return Task.FromResult(response);
    }

    public override async Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var metadata = OpenInferenceService.Metadata(
            await service.FindAsync(request.Name, request.Version).ConfigureAwait(false) ?? throw NotFound(request.Name, request.Version));
        var response = new ModelMetadataResponse { Name = metadata.Name, Platform = metadata.Platform };
        response.Versions.Add(metadata.Versions);
        response.Inputs.Add(metadata.Inputs.Select(Tensor));
        response.Outputs.Add(metadata.Outputs.Select(Tensor));
        return response;
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        var started = time.GetTimestamp();
        var http = context.GetHttpContext();
        var model = await service.FindAsync(request.ModelName, request.ModelVersion).ConfigureAwait(false);
        var defaultClass = model is null ? LatencyClass.ProcessControl : service.DefaultClass(model);
        var deadline = Deadline.For(defaultClass, started, time) with { Client = ClientIdentity.Of(http) };
        if (model is null)
        {
            metrics.RecordRequest(InferEndpoint, deadline.Class, Outcome.Invalid, time.GetElapsedTime(started));
            throw NotFound(request.ModelName, request.ModelVersion);
        }

        if ((Decode(request, out var decoded) ?? service.Schedule(model, decoded!, started, ref deadline)) is { } bad)
        {
            throw Refuse(started, deadline, Outcome.Invalid, bad, TimeSpan.Zero);
        }

        // A client's own call deadline (grpc-timeout, as Triton's client_timeout sets) bounds the work too.
        if (context.Deadline < DateTime.MaxValue)
        {
            var left = context.Deadline - time.GetUtcNow().UtcDateTime;
            var within = Deadline.Within(left > TimeSpan.Zero ? left : TimeSpan.Zero, started, time);
            if (within.Due < deadline.Due)
            {
                deadline = deadline with { Due = within.Due };
            }
        }

        var origin = new PredictionOrigin(PredictionSource.Grpc, http.TraceIdentifier, started);
        var result = await service.InferAsync(model, decoded!, deadline, origin, context.CancellationToken).ConfigureAwait(false);
        if (!result.IsOk)
        {
            throw Refuse(started, deadline, result.Outcome, result.Error ?? result.Outcome.Detail(model.Name), result.RetryAfter);
        }

        metrics.RecordRequest(InferEndpoint, deadline.Class, Outcome.Ok, time.GetElapsedTime(started));
        var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = OpenInferenceService.Version(model), Id = request.Id };
        if (result.AnsweredBy is { } answeredBy)
        {
            response.Parameters.Add("answered_by", new InferParameter { StringParam = answeredBy });
            response.Parameters.Add("fallback", new InferParameter { BoolParam = true });
        }

        foreach (var output in result.Outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.Type.Name() };
            tensor.Shape.Add(output.Shape);
            response.Outputs.Add(tensor);
            response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(V2Tensors.ToBinary(output.Values)));
        }

        return response;
    }

    private static ModelMetadataResponse.Types.TensorMetadata Tensor(V2TensorMetadata tensor)
    {
        var metadata = new ModelMetadataResponse.Types.TensorMetadata { Name = tensor.Name, Datatype = tensor.Datatype };
        metadata.Shape.Add(tensor.Shape);
        return metadata;
    }

    private static RpcException NotFound(string name, string version) =>
        new(new GrpcStatus(StatusCode.NotFound, OpenInferenceService.NotFound(name, version)));

    /// <summary>The one outcome vocabulary in gRPC's terms; a retryable refusal carries <c>retry-after</c> (seconds) in its trailers.</summary>
    private RpcException Refuse(long started, Deadline deadline, Outcome outcome, string message, TimeSpan predictedWait)
    {
        metrics.RecordRequest(InferEndpoint, deadline.Class, outcome, time.GetElapsedTime(started));
        var code = GrpcRefusal.StatusOf(outcome);
        var trailers = new Metadata();
        if (outcome.IsRetryable())
        {
            trailers.Add("retry-after", OutcomeVocabulary.RetryAfterSeconds(predictedWait, predictions.Value.RetryAfterSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return new RpcException(new GrpcStatus(code, message), trailers);
    }

    /// <summary>The request's tensors and parameters, as the REST body's are decoded.</summary>
    private static string? Decode(ModelInferRequest request, out V2Request? decoded)
    {
        decoded = null;
        if (request.Inputs.Count == 0)
        {
            return "inputs must name at least one tensor.";
        }

        var raw = request.RawInputContents;
        if (raw.Count > 0 && raw.Count != request.Inputs.Count)
        {
            return $"raw_input_contents has {raw.Count} entries; there are {request.Inputs.Count} inputs.";
        }

        var inputs = new List<V2Input>();
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            var shape = input.Shape.ToArray();
            var badType = V2Tensors.CheckType(input.Name, input.Datatype, out var type);
            var badShape = V2Tensors.CheckShape(input.Name, shape, out var elements);
            if ((badType ?? badShape) is { } badTensor)
            {
                return badTensor;
            }

            if (raw.Count > 0 && input.Contents is not null)
            {
                return $"input '{input.Name}': contents and raw_input_contents cannot both be given.";
            }

            var bad = raw.Count > 0
                ? V2Tensors.FromBinary(input.Name, type, shape, elements, raw[i].Span, out var values)
                : FromContents(input, type, shape, elements, out values);
            if (bad is not null)
            {
                return bad;
            }

            inputs.Add(new V2Input(input.Name, type, shape, values));
        }

        var badPriority = Whole(request.Parameters, "priority", out var priority);
        var badTimeout = Whole(request.Parameters, "timeout", out var timeout);
        if ((badPriority ?? badTimeout) is { } badParameter)
        {
            return badParameter;
        }

        decoded = new V2Request(
            string.IsNullOrEmpty(request.Id) ? null : request.Id,
            priority,
            timeout,
            BinaryOutput: true,
            inputs,
            request.Outputs.Count == 0 ? null : [.. request.Outputs.Select(o => new V2RequestedOutput(o.Name, true))]);
        return null;
    }

    private static string? FromContents(ModelInferRequest.Types.InferInputTensor input, TensorType type, long[] shape, long elements, out Array values)
    {
        var contents = input.Contents ?? new InferTensorContents();
        return type switch
        {
            TensorType.Fp32 => V2Tensors.FromNumbers(input.Name, type, shape, elements, contents.Fp32Contents, out values),
            TensorType.Fp64 => V2Tensors.FromNumbers(input.Name, type, shape, elements, contents.Fp64Contents, out values),
            TensorType.Int8 or TensorType.Int16 or TensorType.Int32 => V2Tensors.FromNumbers(input.Name, type, shape, elements, contents.IntContents, out values),
            TensorType.Int64 => V2Tensors.FromNumbers(input.Name, type, shape, elements, contents.Int64Contents, out values),
            TensorType.UInt8 or TensorType.UInt16 or TensorType.UInt32 => V2Tensors.FromNumbers(input.Name, type, shape, elements, contents.UintContents, out values),
            TensorType.UInt64 => V2Tensors.FromNumbers(input.Name, type, shape, elements, contents.Uint64Contents, out values),
            TensorType.Bool => V2Tensors.FromNumbers(input.Name, type, shape, elements, contents.BoolContents, out values),
            TensorType.Bytes => V2Tensors.FromNumbers(input.Name, type, shape, elements, [.. contents.BytesContents.Select(b => b.ToStringUtf8())], out values),
            _ => Unsupported(input.Name, type, out values),
        };
    }

    private static string Unsupported(string name, TensorType type, out Array values)
    {
        values = Array.Empty<float>();
        return $"input '{name}': {type.Name()} data must come in raw_input_contents.";
    }

    private static string? Whole(MapField<string, InferParameter> parameters, string name, out long? value)
    {
        value = null;
        if (!parameters.TryGetValue(name, out var parameter))
        {
            return null;
        }

        if (parameter.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.Int64Param || parameter.Int64Param < 0)
        {
            return $"parameter {name} must be an int64 of at least 0.";
        }

        value = parameter.Int64Param;
        return null;
    }
}
