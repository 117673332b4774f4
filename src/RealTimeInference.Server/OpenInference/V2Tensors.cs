using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;

namespace RealTimeInference.Server.OpenInference;

/// <summary>An input tensor as it arrived, its values already turned into the FP32 the models take.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DataType">The datatype the client declared.</param>
/// <param name="Shape">The shape the client declared.</param>
/// <param name="Values">Row-major, as many as the shape holds.</param>
internal sealed record V2Input(string Name, V2DataType DataType, long[] Shape, float[] Values);

/// <summary>
/// Tensor data in each of its wire forms (JSON <c>data</c>, flat or nested; little-endian binary) into
/// FP32, checked against its declared shape and datatype. Allocates no more than the body holds: a
/// declared shape is believed only once the data is there.
/// </summary>
internal static class V2Tensors
{
    public const int MaxRank = 8;

    /// <summary>The number of elements <paramref name="shape"/> holds, or an error for a rank or dimension no tensor has.</summary>
    public static string? CheckShape(string name, IReadOnlyList<long> shape, out long elements)
    {
        elements = 0;
        if (shape.Count is 0 or > MaxRank)
        {
            return $"input '{name}': shape must have 1 to {MaxRank} dimensions; it has {shape.Count}.";
        }

        long product = 1;
        foreach (var dimension in shape)
        {
            if (dimension < 0)
            {
                return $"input '{name}': shape {Format(shape)} has a negative dimension.";
            }

            // Past int.MaxValue no body could hold it: the size check below reports the mismatch.
            product = product > int.MaxValue || dimension > int.MaxValue ? long.MaxValue : Math.Min(product * dimension, long.MaxValue / 2);
        }

        elements = product;
        return null;
    }

    /// <summary>The declared datatype, or why it cannot feed a model that takes FP32.</summary>
    public static string? CheckType(string name, string? datatype, out V2DataType type)
    {
        if (!V2DataTypes.TryParse(datatype, out type))
        {
            return $"input '{name}': datatype must be one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES.";
        }

        return type.IsNumeric() ? null : $"input '{name}': {type.Name()} cannot feed a model that takes FP32; send FP32, FP64, FP16 or an integer type.";
    }

    public static string Format(IEnumerable<long> shape) => "[" + string.Join(",", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>JSON <c>data</c>: an array of numbers, or arrays of them nested in row-major order.</summary>
    public static string? FromJson(string name, V2DataType type, IReadOnlyList<long> shape, long elements, JsonElement data, out float[] values)
    {
        values = [];
        if (data.ValueKind != JsonValueKind.Array)
        {
            return $"input '{name}': data must be an array.";
        }

        var count = 0L;
        if (Count(data, ref count) is { } bad)
        {
            return $"input '{name}': {bad}";
        }

        if (count != elements)
        {
            return $"input '{name}': data holds {count} elements; shape {Format(shape)} holds {Elements(elements)}.";
        }

        values = new float[count];
        var written = 0;
        return Fill(name, type, data, values, ref written);
    }

    /// <summary>Binary data, little-endian and row-major, exactly as many bytes as the shape and datatype take.</summary>
    public static string? FromBinary(string name, V2DataType type, IReadOnlyList<long> shape, long elements, ReadOnlySpan<byte> bytes, out float[] values)
    {
        values = [];
        var size = type.Size();
        if (size == 0 || elements > long.MaxValue / size || bytes.Length != elements * size)
        {
            return $"input '{name}': {bytes.Length} bytes of {type.Name()} data; shape {Format(shape)} takes {(size == 0 || elements > long.MaxValue / size ? "more" : (elements * size).ToString(CultureInfo.InvariantCulture))}.";
        }

        values = new float[elements];
        for (var i = 0; i < values.Length; i++)
        {
            var element = bytes.Slice(i * size, size);
            double value = type switch
            {
                V2DataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(element),
                V2DataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(element),
                V2DataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(element),
                V2DataType.Int8 => (sbyte)element[0],
                V2DataType.UInt8 => element[0],
                V2DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(element),
                V2DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(element),
                V2DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(element),
                V2DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(element),
                V2DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(element),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(element),
            };
            if (ToFloat(name, i, value, out values[i]) is { } bad)
            {
                return bad;
            }
        }

        return null;
    }

    /// <summary>Values given as numbers already (gRPC's typed contents), checked as the JSON and binary forms are.</summary>
    public static string? FromNumbers<T>(string name, V2DataType type, IReadOnlyList<long> shape, long elements, IReadOnlyList<T> numbers, Func<T, double> convert, out float[] values)
    {
        values = [];
        if (numbers.Count != elements)
        {
            return $"input '{name}': contents hold {numbers.Count} elements; shape {Format(shape)} holds {Elements(elements)}.";
        }

        values = new float[numbers.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var value = convert(numbers[i]);
            if (!Fits(type, value))
            {
                // gRPC carries INT8/INT16 in int32 contents and UINT8/UINT16 in uint32 ones: the width is the datatype's.
                return $"input '{name}': element {i} ({value.ToString(CultureInfo.InvariantCulture)}) is not a {type.Name()} value.";
            }

            if (ToFloat(name, i, value, out values[i]) is { } bad)
            {
                return bad;
            }
        }

        return null;
    }

    /// <summary>FP32 values as the wire carries them: little-endian, row-major.</summary>
    public static byte[] ToBinary(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }

        return bytes;
    }

    private static string Elements(long elements) => elements == long.MaxValue ? "more than any body carries" : elements.ToString(CultureInfo.InvariantCulture);

    private static string? ToFloat(string name, int index, double value, out float result)
    {
        // float.MaxValue as usually printed rounds just above it as a double: compare as float.
        result = (float)value;
        return double.IsFinite(value) && float.IsFinite(result)
            ? null
            : $"input '{name}': element {index} must be a finite number within the 32-bit float range.";
    }

    private static string? Count(JsonElement array, ref long count)
    {
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                if (Count(item, ref count) is { } bad)
                {
                    return bad;
                }
            }
            else if (item.ValueKind == JsonValueKind.Number)
            {
                count++;
            }
            else
            {
                return $"data must hold numbers (or arrays of them), not {item.ValueKind.ToString().ToLowerInvariant()}.";
            }
        }

        return null;
    }

    private static string? Fill(string name, V2DataType type, JsonElement array, float[] values, ref int written)
    {
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                if (Fill(name, type, item, values, ref written) is { } bad)
                {
                    return bad;
                }

                continue;
            }

            if (!TryRead(type, item, out var value))
            {
                return $"input '{name}': element {written} ({item.GetRawText()}) is not a {type.Name()} value.";
            }

            if (ToFloat(name, written, value, out values[written]) is { } outOfRange)
            {
                return outOfRange;
            }

            written++;
        }

        return null;
    }

    private static bool TryRead(V2DataType type, JsonElement item, out double value)
    {
        value = 0;
        switch (type)
        {
            case V2DataType.Fp32 or V2DataType.Fp64 or V2DataType.Fp16:
                return item.TryGetDouble(out value);
            case V2DataType.UInt8 or V2DataType.UInt16 or V2DataType.UInt32 or V2DataType.UInt64:
                if (!item.TryGetUInt64(out var unsigned) || unsigned > Max(type))
                {
                    return false;
                }

                value = unsigned;
                return true;
            default:
                if (!item.TryGetInt64(out var signed) || signed > (long)Max(type) || signed < -(long)Max(type) - 1)
                {
                    return false;
                }

                value = signed;
                return true;
        }
    }

    /// <summary>Whether an integer datatype's range holds <paramref name="value"/> (floating-point types: always).</summary>
    private static bool Fits(V2DataType type, double value) => type switch
    {
        V2DataType.Fp32 or V2DataType.Fp64 or V2DataType.Fp16 => true,
        V2DataType.UInt8 or V2DataType.UInt16 or V2DataType.UInt32 or V2DataType.UInt64 => value >= 0 && value <= Max(type),
        _ => value <= Max(type) && value >= -(double)Max(type) - 1,
    };

    private static ulong Max(V2DataType type) => type switch
    {
        V2DataType.Int8 => (ulong)sbyte.MaxValue,
        V2DataType.UInt8 => byte.MaxValue,
        V2DataType.Int16 => (ulong)short.MaxValue,
        V2DataType.UInt16 => ushort.MaxValue,
        V2DataType.Int32 => int.MaxValue,
        V2DataType.UInt32 => uint.MaxValue,
        V2DataType.Int64 => long.MaxValue,
        _ => ulong.MaxValue,
    };
}
