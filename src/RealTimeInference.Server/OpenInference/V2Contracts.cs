using System.Text.Json;
using System.Text.Json.Serialization;

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
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] float[]? Data);

/// <summary>Who answered, when it was not the model asked for (its fallback model).</summary>
internal sealed record V2ResponseParameters(string AnsweredBy, bool Fallback);

/// <summary>An inference response.</summary>
internal sealed record V2InferResponse(
    string ModelName,
    string ModelVersion,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] V2ResponseParameters? Parameters,
    IReadOnlyList<V2OutputTensor> Outputs);

/// <summary>The protocol's error body (not a ProblemDetails: V2 clients read <c>error</c>).</summary>
internal sealed record V2Error(string Error);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(V2ServerMetadata))]
[JsonSerializable(typeof(V2ModelMetadata))]
[JsonSerializable(typeof(V2InferResponse))]
[JsonSerializable(typeof(V2Error))]
internal sealed partial class OpenInferenceJsonContext : JsonSerializerContext;
