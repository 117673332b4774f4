namespace RealTimeInference.Inference.Tensors;

/// <summary>A tensor's element type, by the Open Inference Protocol's names (ONNX's element types that the server takes).</summary>
public enum TensorType
{
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Fp32,
    Fp64,
    Bytes,
}

public static class TensorTypes
{
    /// <summary>The wire names, in <see cref="TensorType"/> order.</summary>
    private static readonly string[] Names = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    /// <summary>The CLR element type of each, in <see cref="TensorType"/> order; BYTES elements are strings (ONNX string tensors).</summary>
    private static readonly Type[] Elements =
        [typeof(bool), typeof(byte), typeof(ushort), typeof(uint), typeof(ulong), typeof(sbyte), typeof(short), typeof(int), typeof(long), typeof(Half), typeof(float), typeof(double), typeof(string)];

    /// <summary>Every wire name, for messages.</summary>
    public static string AllNames => string.Join(", ", Names);

    public static string Name(this TensorType type) => Names[(int)type];

    public static bool TryParse(string? name, out TensorType type)
    {
        var index = name is null ? -1 : Array.IndexOf(Names, name);
        type = index < 0 ? TensorType.Fp32 : (TensorType)index;
        return index >= 0;
    }

    /// <summary>Bytes an element takes in binary form; 0 for BYTES, whose elements carry their own length.</summary>
    public static int Size(this TensorType type) => type switch
    {
        TensorType.Bool or TensorType.UInt8 or TensorType.Int8 => 1,
        TensorType.UInt16 or TensorType.Int16 or TensorType.Fp16 => 2,
        TensorType.UInt32 or TensorType.Int32 or TensorType.Fp32 => 4,
        TensorType.Bytes => 0,
        _ => 8,
    };

    /// <summary>Whether its values are numbers: the floating-point and integer types.</summary>
    public static bool IsNumeric(this TensorType type) => type is not (TensorType.Bool or TensorType.Bytes);

    /// <summary>A zeroed (for BYTES: empty strings) array of <paramref name="length"/> elements of the type's CLR element type.</summary>
    public static Array NewArray(this TensorType type, long length)
    {
        var array = Array.CreateInstance(Elements[(int)type], length);
        if (array is string[] strings)
        {
            Array.Fill(strings, "");
        }

        return array;
    }

    /// <summary>The type whose CLR element type <paramref name="array"/> holds; false for any other array.</summary>
    public static bool TryOf(Array array, out TensorType type)
    {
        var index = Array.IndexOf(Elements, array.GetType().GetElementType());
        type = index < 0 ? TensorType.Fp32 : (TensorType)index;
        return index >= 0;
    }
}
