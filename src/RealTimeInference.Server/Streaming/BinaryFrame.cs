using System.Buffers.Binary;
using System.Runtime.InteropServices;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// The binary fast path of <c>WS /ws/predict</c>. A frame is a 12-byte header and float32
/// little-endian values:
/// <code>
/// offset 0  4 bytes  magic "RTI" and format version 1: 0x52 0x54 0x49 0x01
/// offset 4  uint32   row count (little-endian)
/// offset 8  uint32   values per row: 3 in a request (temperature, pressure, flow_rate), 1 in a reply (the score)
/// offset 12 float32  rows x values, row-major, little-endian
/// </code>
/// </summary>
internal static class BinaryFrame
{
    public const int HeaderBytes = 12;
    public const byte Version = 1;

    private static ReadOnlySpan<byte> Magic => [0x52, 0x54, 0x49, Version];

    /// <summary>Validates a request frame and copies its rows into <paramref name="features"/> (rented by the caller via <paramref name="rent"/>).</summary>
    public static FieldError? Read(ReadOnlySpan<byte> frame, int featureCount, Func<int, Memory<float>> rent, out Memory<float> features, out int rows)
    {
        features = default;
        rows = 0;
        if (frame.Length < HeaderBytes)
        {
            return new FieldError("header", $"A binary frame starts with a {HeaderBytes}-byte header; got {frame.Length} bytes.");
        }

        if (!frame[..4].SequenceEqual(Magic))
        {
            return new FieldError("magic", "A binary frame starts with \"RTI\" and version 1 (52 54 49 01).");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]);
        var width = BinaryPrimitives.ReadUInt32LittleEndian(frame[8..]);
        if (width != featureCount)
        {
            return new FieldError("values_per_row", $"Rows carry {featureCount} values (temperature, pressure, flow_rate); the header says {width}.");
        }

        var body = frame[HeaderBytes..];
        if (count == 0 || (long)count * featureCount * sizeof(float) != body.Length)
        {
            return new FieldError("row_count", $"The header says {count} rows of {featureCount} float32 values; the frame carries {body.Length} bytes after the header.");
        }

        rows = (int)count;
        features = rent(rows * featureCount);
        var destination = features.Span;
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(body).CopyTo(destination);
        }
        else
        {
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = BinaryPrimitives.ReadSingleLittleEndian(body[(i * sizeof(float))..]);
            }
        }

        for (var i = 0; i < destination.Length; i++)
        {
            if (!float.IsFinite(destination[i]))
            {
                return new FieldError($"[{i / featureCount}].{i % featureCount}", "Values must be finite numbers (no NaN or infinity).");
            }
        }

        return null;
    }

    /// <summary>Writes a reply frame of <paramref name="scores"/>; returns its length.</summary>
    public static int Write(ReadOnlySpan<float> scores, Span<byte> destination)
    {
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)scores.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], 1);
        var body = destination[HeaderBytes..];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(scores).CopyTo(body);
        }
        else
        {
            for (var i = 0; i < scores.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(body[(i * sizeof(float))..], scores[i]);
            }
        }

        return HeaderBytes + (scores.Length * sizeof(float));
    }
}
