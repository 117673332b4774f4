using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Server.OpenInference;

/// <summary>An input tensor as it arrived: its elements in the datatype the client declared (<see cref="TensorTypes"/>' CLR arrays).</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DataType">The datatype the client declared.</param>
/// <param name="Shape">The shape the client declared.</param>
/// <param name="Values">Row-major, as many as the shape holds.</param>
internal sealed record V2Input(string Name, TensorType DataType, long[] Shape, Array Values);

/// <summary>
/// Tensor data in each of its wire forms (JSON <c>data</c>, flat or nested; little-endian binary, BYTES
/// elements each after its 4-byte length; gRPC's typed contents) into typed arrays, checked against
/// its declared shape and datatype, and converted to the datatype a model takes. Allocates no more
/// than the body holds: a declared shape is believed only once the data is there.
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

    public static string? CheckType(string name, string? datatype, out TensorType type) =>
        TensorTypes.TryParse(datatype, out type) ? null : $"input '{name}': datatype must be one of {TensorTypes.AllNames}.";

    public static string Format(IEnumerable<long> shape) => "[" + string.Join(",", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>JSON <c>data</c>: an array of numbers (BOOL: true/false; BYTES: strings), or arrays of them nested in row-major order.</summary>
    public static string? FromJson(string name, TensorType type, IReadOnlyList<long> shape, long elements, JsonElement data, out Array values)
    {
        values = Array.Empty<float>();
        if (data.ValueKind != JsonValueKind.Array)
        {
            return $"input '{name}': data must be an array.";
        }

        var count = 0L;
        var kind = type switch { TensorType.Bytes => JsonValueKind.String, TensorType.Bool => JsonValueKind.True, _ => JsonValueKind.Number };
        if (Count(data, kind, ref count) is { } bad)
        {
            return $"input '{name}': {bad}";
        }

        if (count != elements)
        {
            return $"input '{name}': data holds {count} elements; shape {Format(shape)} holds {Elements(elements)}.";
        }

        values = type.NewArray(count);
        var written = 0;
        return Fill(name, type, data, values, ref written) ?? FiniteOrError(name, values);
    }

    /// <summary>Binary data, little-endian and row-major, exactly as many bytes as the shape and datatype take.</summary>
    public static string? FromBinary(string name, TensorType type, IReadOnlyList<long> shape, long elements, ReadOnlySpan<byte> bytes, out Array values)
    {
        values = Array.Empty<float>();
        if (type == TensorType.Bytes)
        {
            return FromByteStrings(name, shape, elements, bytes, out values);
        }

        var size = type.Size();
        if (elements > long.MaxValue / size || bytes.Length != elements * size)
        {
            return $"input '{name}': {bytes.Length} bytes of {type.Name()} data; shape {Format(shape)} takes {(elements > long.MaxValue / size ? "more" : (elements * size).ToString(CultureInfo.InvariantCulture))}.";
        }

        values = type.NewArray(elements);
        if (type == TensorType.Bool)
        {
            var flags = (bool[])values;
            for (var i = 0; i < flags.Length; i++)
            {
                if (bytes[i] > 1)
                {
                    return $"input '{name}': element {i} ({bytes[i]}) is not a BOOL value (0 or 1).";
                }

                flags[i] = bytes[i] == 1;
            }

            return null;
        }

        // The wire is little-endian, as is every machine .NET runs this server on.
        bytes.CopyTo(MemoryMarshal.AsBytes(AsSpan(values)));
        return FiniteOrError(name, values);
    }

    /// <summary>Values given as numbers already (gRPC's typed contents), checked as the JSON and binary forms are.</summary>
    public static string? FromNumbers<T>(string name, TensorType type, IReadOnlyList<long> shape, long elements, IReadOnlyList<T> numbers, out Array values)
        where T : notnull
    {
        values = Array.Empty<float>();
        if (numbers.Count != elements)
        {
            return $"input '{name}': contents hold {numbers.Count} elements; shape {Format(shape)} holds {Elements(elements)}.";
        }

        values = type.NewArray(numbers.Count);
        for (var i = 0; i < numbers.Count; i++)
        {
            // gRPC carries INT8/INT16 in int32 contents and UINT8/UINT16 in uint32 ones: the width is the datatype's.
            if (!Store(values, i, numbers[i]))
            {
                return $"input '{name}': element {i} ({Convert.ToString(numbers[i], CultureInfo.InvariantCulture)}) is not a {type.Name()} value.";
            }
        }

        return FiniteOrError(name, values);
    }

    /// <summary>
    /// The input's values as the model's datatype <paramref name="target"/>: as they are when the
    /// types match; numbers converted when each value fits the target (an integer type takes whole
    /// numbers within its range); BOOL and BYTES only as themselves.
    /// </summary>
    public static string? ConvertTo(V2Input input, TensorType target, out Array values)
    {
        values = input.Values;
        if (input.DataType == target)
        {
            return null;
        }

        if (!input.DataType.IsNumeric() || !target.IsNumeric())
        {
            return $"input '{input.Name}': {input.DataType.Name()} cannot feed the model's {target.Name()} input.";
        }

        values = target.NewArray(input.Values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            if (!Store(values, i, input.Values.GetValue(i)!))
            {
                return $"input '{input.Name}': element {i} ({Convert.ToString(input.Values.GetValue(i), CultureInfo.InvariantCulture)}) does not fit the model's {target.Name()} input ({Range(target)}).";
            }
        }

        return FiniteOrError(input.Name, values);
    }

    /// <summary>A tensor's elements as the wire carries them: little-endian, row-major; BYTES each after its 4-byte length.</summary>
    public static byte[] ToBinary(Array values)
    {
        if (values is string[] strings)
        {
            var encoded = strings.Select(Encoding.UTF8.GetBytes).ToArray();
            var bytes = new byte[encoded.Sum(e => 4L + e.Length)];
            var offset = 0;
            foreach (var element in encoded)
            {
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), element.Length);
                element.CopyTo(bytes, offset + 4);
                offset += 4 + element.Length;
            }

            return bytes;
        }

        return MemoryMarshal.AsBytes(AsSpan(values)).ToArray();
    }

    /// <summary>A tensor's elements as JSON <c>data</c> writes them: FP16 as the numbers it holds.</summary>
    public static object ToJsonData(Array values) => values switch
    {
        Half[] halves => halves.Select(h => (float)h).ToArray(),
        // A byte[] would be written as base64: UINT8 data is numbers. (An sbyte[] passes for a byte[] at run time: ask the element type.)
        byte[] bytes when TypeOf(values) == TensorType.UInt8 => bytes.Select(b => (int)b).ToArray(),
        _ => values,
    };

    /// <summary>The tensor's elements as a span of <c>T</c> for the fixed-size types.</summary>
    private static Span<byte> AsSpan(Array values) => values switch
    {
        float[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        double[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        Half[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        sbyte[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        short[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        int[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        long[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        byte[] a => a.AsSpan(),
        ushort[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        uint[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        ulong[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        bool[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        _ => throw new ArgumentException($"{values.GetType().Name} has no fixed-size elements.", nameof(values)),
    };

    private static string? FromByteStrings(string name, IReadOnlyList<long> shape, long elements, ReadOnlySpan<byte> bytes, out Array values)
    {
        values = Array.Empty<string>();
        var strings = new List<string>();
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        while (bytes.Length > 0)
        {
            if (bytes.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) is var length && length > bytes.Length - 4)
            {
                return $"input '{name}': BYTES element {strings.Count} runs past the end of its binary data (each element is a 4-byte little-endian length, then its bytes).";
            }

            try
            {
                strings.Add(utf8.GetString(bytes.Slice(4, (int)length)));
            }
            catch (DecoderFallbackException)
            {
                return $"input '{name}': BYTES element {strings.Count} is not UTF-8 text, which the model's string tensors hold.";
            }

            bytes = bytes[(4 + (int)length)..];
        }

        if (strings.Count != elements)
        {
            return $"input '{name}': the binary data holds {strings.Count} BYTES elements; shape {Format(shape)} holds {Elements(elements)}.";
        }

        values = strings.ToArray();
        return null;
    }

    private static string Elements(long elements) => elements == long.MaxValue ? "more than any body carries" : elements.ToString(CultureInfo.InvariantCulture);

    /// <summary>Floating-point elements must be finite numbers: NaN and infinities are no reading.</summary>
    private static string? FiniteOrError(string name, Array values)
    {
        var bad = values switch
        {
            float[] a => Array.FindIndex(a, v => !float.IsFinite(v)),
            double[] a => Array.FindIndex(a, v => !double.IsFinite(v)),
            Half[] a => Array.FindIndex(a, v => !Half.IsFinite(v)),
            _ => -1,
        };
        return bad < 0 ? null : $"input '{name}': element {bad} must be a finite number within {(TensorTypes.TryOf(values, out var type) ? Range(type) : "its type's range")}.";
    }

    private static string Range(TensorType type) => type switch
    {
        TensorType.Fp32 => "the 32-bit float range",
        TensorType.Fp16 => "the 16-bit float range",
        TensorType.Fp64 => "the 64-bit float range",
        _ => $"whole numbers a {type.Name()} holds",
    };

    /// <summary>Counts the elements, each of <paramref name="kind"/> (True: true or false).</summary>
    private static string? Count(JsonElement array, JsonValueKind kind, ref long count)
    {
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                if (Count(item, kind, ref count) is { } bad)
                {
                    return bad;
                }
            }
            else if (item.ValueKind == kind || (kind == JsonValueKind.True && item.ValueKind == JsonValueKind.False))
            {
                count++;
            }
            else
            {
                var what = kind switch { JsonValueKind.String => "strings", JsonValueKind.True => "true or false", _ => "numbers" };
                return $"data must hold {what} (or arrays of them), not {item.ValueKind.ToString().ToLowerInvariant()}.";
            }
        }

        return null;
    }

    private static string? Fill(string name, TensorType type, JsonElement array, Array values, ref int written)
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

            if (!TryRead(type, item, out var value) || !Store(values, written, value))
            {
                return $"input '{name}': element {written} ({item.GetRawText()}) is not a {type.Name()} value.";
            }

            written++;
        }

        return null;
    }

    /// <summary>One JSON element as the value its datatype reads: a string, a bool, or the widest number that holds it.</summary>
    private static bool TryRead(TensorType type, JsonElement item, out object value)
    {
        value = 0;
        switch (type)
        {
            case TensorType.Bytes when item.ValueKind == JsonValueKind.String:
                value = item.GetString()!;
                return true;
            case TensorType.Bool when item.ValueKind is JsonValueKind.True or JsonValueKind.False:
                value = item.GetBoolean();
                return true;
            case TensorType.Fp32 or TensorType.Fp64 or TensorType.Fp16 when item.ValueKind == JsonValueKind.Number && item.TryGetDouble(out var real):
                value = real;
                return true;
            case TensorType.UInt64 when item.ValueKind == JsonValueKind.Number && item.TryGetUInt64(out var unsigned):
                value = unsigned;
                return true;
            case not (TensorType.Bytes or TensorType.Bool or TensorType.Fp32 or TensorType.Fp64 or TensorType.Fp16 or TensorType.UInt64)
                when item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out var signed):
                value = signed;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Stores <paramref name="value"/> (a number of any CLR type, a bool, a string) at <paramref name="index"/> if the array's element type holds it exactly (floating point: within range).</summary>
    private static bool Store(Array values, int index, object value)
    {
        switch (values)
        {
            case string[] s when value is string text:
                s[index] = text;
                return true;
            case bool[] b when value is bool flag:
                b[index] = flag;
                return true;
            case string[] or bool[]:
                return false;
        }

        if (value is string or bool)
        {
            return false;
        }

        var real = value is Half half ? (double)half : Convert.ToDouble(value, CultureInfo.InvariantCulture);
        switch (values)
        {
            case float[] f:
                f[index] = (float)real;
                return !double.IsFinite(real) || float.IsFinite(f[index]);
            case double[] d:
                d[index] = real;
                return true;
            case Half[] h:
                h[index] = (Half)real;
                return !double.IsFinite(real) || Half.IsFinite(h[index]);
        }

        // Integer targets: whole numbers within range, compared exactly where a double could not.
        if (value is float or double or Half && (real != Math.Floor(real) || !double.IsFinite(real)))
        {
            return false;
        }

        if (value is ulong big)
        {
            return StoreUnsigned(values, index, big);
        }

        long whole;
        if (value is float or double or Half)
        {
            if (real is < long.MinValue or >= 9.2233720368547758E18)
            {
                return real >= 0 && real < 1.8446744073709552E19 && StoreUnsigned(values, index, (ulong)real);
            }

            whole = (long)real;
        }
        else
        {
            whole = Convert.ToInt64(value, CultureInfo.InvariantCulture);
        }

        return whole >= 0 ? StoreUnsigned(values, index, (ulong)whole) : StoreSigned(values, index, whole);
    }

    // By element type, never `is int[]`: the runtime lets a uint[] pass for an int[] (and byte[] for sbyte[], …).
    private static bool StoreUnsigned(Array values, int index, ulong v)
    {
        switch (TypeOf(values))
        {
            case TensorType.UInt8 when v <= byte.MaxValue: ((byte[])values)[index] = (byte)v; return true;
            case TensorType.UInt16 when v <= ushort.MaxValue: ((ushort[])values)[index] = (ushort)v; return true;
            case TensorType.UInt32 when v <= uint.MaxValue: ((uint[])values)[index] = (uint)v; return true;
            case TensorType.UInt64: ((ulong[])values)[index] = v; return true;
            case TensorType.Int8 when v <= (ulong)sbyte.MaxValue: ((sbyte[])values)[index] = (sbyte)v; return true;
            case TensorType.Int16 when v <= (ulong)short.MaxValue: ((short[])values)[index] = (short)v; return true;
            case TensorType.Int32 when v <= int.MaxValue: ((int[])values)[index] = (int)v; return true;
            case TensorType.Int64 when v <= long.MaxValue: ((long[])values)[index] = (long)v; return true;
            default: return false;
        }
    }

    private static bool StoreSigned(Array values, int index, long v)
    {
        switch (TypeOf(values))
        {
            case TensorType.Int8 when v >= sbyte.MinValue: ((sbyte[])values)[index] = (sbyte)v; return true;
            case TensorType.Int16 when v >= short.MinValue: ((short[])values)[index] = (short)v; return true;
            case TensorType.Int32 when v >= int.MinValue: ((int[])values)[index] = (int)v; return true;
            case TensorType.Int64: ((long[])values)[index] = v; return true;
            default: return false;
        }
    }

    private static TensorType? TypeOf(Array values) => TensorTypes.TryOf(values, out var type) ? type : null;
}
