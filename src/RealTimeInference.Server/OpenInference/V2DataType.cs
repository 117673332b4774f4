namespace RealTimeInference.Server.OpenInference;

/// <summary>The Open Inference Protocol's tensor data types.</summary>
internal enum V2DataType
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

internal static class V2DataTypes
{
    /// <summary>The wire names, in <see cref="V2DataType"/> order.</summary>
    private static readonly string[] Names = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    public static string Name(this V2DataType type) => Names[(int)type];

    public static bool TryParse(string? name, out V2DataType type)
    {
        var index = name is null ? -1 : Array.IndexOf(Names, name);
        type = index < 0 ? V2DataType.Fp32 : (V2DataType)index;
        return index >= 0;
    }

    /// <summary>Bytes an element takes in binary form; 0 for BYTES, whose elements carry their own length.</summary>
    public static int Size(this V2DataType type) => type switch
    {
        V2DataType.Bool or V2DataType.UInt8 or V2DataType.Int8 => 1,
        V2DataType.UInt16 or V2DataType.Int16 or V2DataType.Fp16 => 2,
        V2DataType.UInt32 or V2DataType.Int32 or V2DataType.Fp32 => 4,
        V2DataType.Bytes => 0,
        _ => 8,
    };

    /// <summary>Whether its values can feed a model that takes FP32: the floating-point and integer types.</summary>
    public static bool IsNumeric(this V2DataType type) => type is not (V2DataType.Bool or V2DataType.Bytes);
}
