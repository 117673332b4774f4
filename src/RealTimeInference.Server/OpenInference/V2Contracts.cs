using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Server.OpenInference;

/// <summary><c>GET /v2</c>.</summary>
internal sealed record V2ServerMetadata(string Name, string Version, IReadOnlyList<string> Extensions);

/// <summary>A tensor's name, datatype and shape (-1 for the batch dimension).</summary>
internal sealed record V2TensorMetadata(string Name, string Datatype, IReadOnlyList<long> Shape);

/// <summary><c>GET /v2/models/{name}</c>.</summary>
internal sealed record V2ModelMetadata(
    string Name, IReadOnlyList<string> Versions, string Platform, IReadOnlyList<V2TensorMetadata> Inputs, IReadOnlyList<V2TensorMetadata> Outputs);

/// <summary>An output tensor's parameters: its binary size when its data follows the JSON.</summary>
internal sealed record V2OutputParameters(long BinaryDataSize);

/// <summary>One output tensor of an inference response: its data inline, or its size with the data after the JSON.</summary>
internal sealed record V2OutputTensor(
    string Name,
    string Datatype,
    IReadOnlyList<long> Shape,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] V2OutputParameters? Parameters,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? Data);

/// <summary>Who answered, when it was not the model asked for (its fallback model).</summary>
internal sealed record V2ResponseParameters(string AnsweredBy, bool Fallback);

/// <summary>An inference response.</summary>
internal sealed record V2InferResponse(
    string ModelName,
    string ModelVersion,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] V2ResponseParameters? Parameters,
    IReadOnlyList<V2OutputTensor> Outputs);

/// <summary>One input or output in a model's configuration: Triton's <c>data_type</c> (TYPE_FP32, TYPE_STRING, …) and <c>dims</c> without the batch dimension.</summary>
internal sealed record V2TensorConfig(
    string Name,
    string DataType,
    IReadOnlyList<long> Dims,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Features);

/// <summary>Triton's default queue policy, and the queue's bound in rows (<c>max_queue_size</c>).</summary>
internal sealed record V2QueuePolicy(string TimeoutAction, long DefaultTimeoutMicroseconds, bool AllowTimeoutOverride, int MaxQueueSize);

/// <summary>Triton's dynamic batching, with the admission policy of a full queue and whether requests are joined into one run.</summary>
internal sealed record V2DynamicBatching(
    IReadOnlyList<int> PreferredBatchSize,
    long MaxQueueDelayMicroseconds,
    int PriorityLevels,
    int DefaultPriorityLevel,
    V2QueuePolicy DefaultQueuePolicy,
    string Admission,
    bool Concatenates);

/// <summary>The FP32 input (with its named features) and output the server's own row endpoints score.</summary>
internal sealed record V2RowTensors(string Input, IReadOnlyList<string> Features, string Output);

/// <summary><c>GET /v2/models/{name}/config</c>: the model's configuration completed from its ONNX signature and model.json.</summary>
internal sealed record V2ModelConfig(
    string Name,
    string Platform,
    int MaxBatchSize,
    IReadOnlyList<V2TensorConfig> Input,
    IReadOnlyList<V2TensorConfig> Output,
    V2DynamicBatching DynamicBatching,
    VersionPolicy VersionPolicy,
    string LatencyClass,
    ThreadSettings Threads,
    IReadOnlyList<WarmupSample> ModelWarmup,
    string? Fallback,
    double Threshold,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] V2RowTensors? RowEndpoints);

/// <summary>One entry of <c>POST /v2/repository/index</c>.</summary>
internal sealed record V2RepositoryEntry(
    string Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Version,
    string State,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason);

/// <summary>The protocol's error body (not a ProblemDetails: V2 clients read <c>error</c>).</summary>
internal sealed record V2Error(string Error);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(V2ServerMetadata))]
[JsonSerializable(typeof(V2ModelMetadata))]
[JsonSerializable(typeof(V2InferResponse))]
[JsonSerializable(typeof(V2Error))]
[JsonSerializable(typeof(V2ModelConfig))]
[JsonSerializable(typeof(IReadOnlyList<V2RepositoryEntry>))]
[JsonSerializable(typeof(float[]))]
[JsonSerializable(typeof(double[]))]
[JsonSerializable(typeof(sbyte[]))]
[JsonSerializable(typeof(short[]))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(long[]))]
[JsonSerializable(typeof(byte[]))]
[JsonSerializable(typeof(ushort[]))]
[JsonSerializable(typeof(uint[]))]
[JsonSerializable(typeof(ulong[]))]
[JsonSerializable(typeof(bool[]))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class OpenInferenceJsonContext : JsonSerializerContext;
