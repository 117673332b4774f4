using System.Buffers;
using System.Text.Json;

namespace RealTimeInference.Server.OpenInference;

/// <summary>An output the client asked for, and whether it wants it as binary data.</summary>
internal sealed record V2RequestedOutput(string Name, bool? Binary);

/// <summary>An inference request in any of its wire forms (REST JSON, REST with binary tensors, gRPC), decoded.</summary>
/// <param name="Id">Echoed in the answer.</param>
/// <param name="Priority">Triton's schedule-policy <c>priority</c>: 0 or absent is the default, 1 the most urgent.</param>
/// <param name="TimeoutMicroseconds">Triton's schedule-policy <c>timeout</c>: the answer's deadline, from arrival; 0 or absent is none beyond the class's.</param>
/// <param name="BinaryOutput">The request's <c>binary_data_output</c>: every output as binary data unless it says otherwise.</param>
/// <param name="Inputs">The input tensors.</param>
/// <param name="Outputs">The outputs asked for; null for all of them.</param>
internal sealed record V2Request(
    string? Id, long? Priority, long? TimeoutMicroseconds, bool BinaryOutput, IReadOnlyList<V2Input> Inputs, IReadOnlyList<V2RequestedOutput>? Outputs);

/// <summary>
/// The REST body: a JSON inference request, optionally followed by the binary tensor data of Triton's
/// binary tensor extension (the JSON's length in <c>Inference-Header-Content-Length</c>, each binary
/// input's <c>binary_data_size</c>, in input order, adding up to the rest of the body).
/// </summary>
internal static class V2RestRequest
{
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    private static readonly JsonDocumentOptions Json = new() { MaxDepth = V2Tensors.MaxRank + 8 };

    /// <summary>Decodes <paramref name="body"/>; <paramref name="headerLength"/> is null for a body that is all JSON.</summary>
    public static string? Parse(in ReadOnlySequence<byte> body, long? headerLength, out V2Request? request)
    {
        request = null;
        if (headerLength is { } length && (length <= 0 || length > body.Length))
        {
            return $"{HeaderLengthHeader} must be within 1..{body.Length} (the body's length).";
        }

        // Contiguous once, so binary tensors are spans of it.
        var bytes = body.IsSingleSegment ? body.First : body.ToArray();
        var header = bytes[..(int)(headerLength ?? bytes.Length)];
        var binary = bytes[header.Length..];
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, Json);
        }
        catch (JsonException ex)
        {
            return $"The request is not valid JSON: {ex.Message}";
        }

        using (document)
        {
            return Read(document.RootElement, binary.Span, out request);
        }
    }

    private static string? Read(JsonElement root, ReadOnlySpan<byte> binary, out V2Request? request)
    {
        request = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "The request must be a JSON object.";
        }

        string? id = null;
        if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind != JsonValueKind.Null)
        {
            if (idElement.ValueKind != JsonValueKind.String)
            {
                return "id must be a string.";
            }

            id = idElement.GetString();
        }

        long? priority = null;
        long? timeout = null;
        var binaryOutput = false;
        if (root.TryGetProperty("parameters", out var parameters) && parameters.ValueKind != JsonValueKind.Null)
        {
            if (parameters.ValueKind != JsonValueKind.Object)
            {
                return "parameters must be an object.";
            }

            var badPriority = Whole(parameters, "priority", out priority);
            var badTimeout = Whole(parameters, "timeout", out timeout);
            var badFlag = Flag(parameters, "binary_data_output", out var flag);
            if ((badPriority ?? badTimeout ?? badFlag) is { } bad)
            {
                return bad;
            }

            binaryOutput = flag ?? false;
        }

        if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array || inputsElement.GetArrayLength() == 0)
        {
            return "inputs must be a non-empty array of tensors.";
        }

        var inputs = new List<V2Input>();
        var offset = 0L;
        foreach (var input in inputsElement.EnumerateArray())
        {
            if (ReadInput(input, binary, ref offset, out var tensor) is { } bad)
            {
                return bad;
            }

            inputs.Add(tensor!);
        }

        if (offset != binary.Length)
        {
            return $"The binary data after the JSON is {binary.Length} bytes; the inputs' binary_data_size add up to {offset}.";
        }

        List<V2RequestedOutput>? outputs = null;
        if (root.TryGetProperty("outputs", out var outputsElement) && outputsElement.ValueKind != JsonValueKind.Null)
        {
            if (outputsElement.ValueKind != JsonValueKind.Array)
            {
                return "outputs must be an array.";
            }

            outputs = [];
            foreach (var output in outputsElement.EnumerateArray())
            {
                if (output.ValueKind != JsonValueKind.Object || !output.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                {
                    return "each output must be an object with a name.";
                }

                bool? wantsBinary = null;
                if (output.TryGetProperty("parameters", out var outputParameters) && outputParameters.ValueKind == JsonValueKind.Object
                    && Flag(outputParameters, "binary_data", out wantsBinary) is { } bad)
                {
                    return $"output '{name.GetString()}': {bad}";
                }

                outputs.Add(new V2RequestedOutput(name.GetString()!, wantsBinary));
            }
        }

        request = new V2Request(id, priority, timeout, binaryOutput, inputs, outputs);
        return null;
    }

    private static string? ReadInput(JsonElement input, ReadOnlySpan<byte> binary, ref long offset, out V2Input? tensor)
    {
        tensor = null;
        if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            return "each input must be an object with a name.";
        }

        var name = nameElement.GetString()!;
        var datatype = input.TryGetProperty("datatype", out var typeElement) && typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString() : null;
        if (V2Tensors.CheckType(name, datatype, out var type) is { } badType)
        {
            return badType;
        }

        if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            return $"input '{name}': shape must be an array of dimensions.";
        }

        var shape = new long[shapeElement.GetArrayLength()];
        var i = 0;
        foreach (var dimension in shapeElement.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt64(out shape[i++]))
            {
                return $"input '{name}': every dimension of shape must be a whole number.";
            }
        }

        if (V2Tensors.CheckShape(name, shape, out var elements) is { } badShape)
        {
            return badShape;
        }

        long? binarySize = null;
        if (input.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && Whole(parameters, "binary_data_size", out binarySize) is { } badSize)
        {
            return $"input '{name}': {badSize}";
        }

        Array values;
        if (binarySize is { } size)
        {
            if (input.TryGetProperty("data", out _))
            {
                return $"input '{name}': data and binary_data_size cannot both be given.";
            }

            if (size > binary.Length - offset)
            {
                return $"input '{name}': binary_data_size {size} is more than the {binary.Length - offset} bytes left after the JSON.";
            }

            var error = V2Tensors.FromBinary(name, type, shape, elements, binary.Slice((int)offset, (int)size), out values);
            offset += size;
            if (error is not null)
            {
                return error;
            }
        }
        else if (!input.TryGetProperty("data", out var data))
        {
            return $"input '{name}': data is required (or binary_data_size, with the data after the JSON).";
        }
        else if (V2Tensors.FromJson(name, type, shape, elements, data, out values) is { } badData)
        {
            return badData;
        }

        tensor = new V2Input(name, type, shape, values);
        return null;
    }

    /// <summary>A parameter that must be a whole number of at least 0, when given.</summary>
    private static string? Whole(JsonElement parameters, string name, out long? value)
    {
        value = null;
        if (!parameters.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var number) || number < 0)
        {
            return $"parameter {name} must be a whole number of at least 0.";
        }

        value = number;
        return null;
    }

    private static string? Flag(JsonElement parameters, string name, out bool? value)
    {
        value = null;
        if (!parameters.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return $"parameter {name} must be true or false.";
        }

        value = element.GetBoolean();
        return null;
    }
}
