using System.Buffers.Binary;
using System.Runtime.InteropServices;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Sockets;

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

    /// <summary>Validates a request frame's header: its row count, or what is wrong with it.</summary>
    public static RequestErrors? ReadHeader(ReadOnlySpan<byte> frame, int maxRows, out int rows)
    {
        rows = 0;
        if (frame.Length < HeaderBytes)
        {
            return RequestErrors.One("header", $"A binary frame starts with a {HeaderBytes}-byte header; got {frame.Length} bytes.");
        }

        if (!frame[..4].SequenceEqual(Magic))
        {
            return RequestErrors.One("magic", "A binary frame starts with \"RTI\" and version 1 (52 54 49 01).");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]);
        var width = BinaryPrimitives.ReadUInt32LittleEndian(frame[8..]);
        if (width != SensorFeatures.Count)
        {
            return RequestErrors.One("values_per_row", $"Rows carry {SensorFeatures.Count} values (temperature, pressure, flow_rate); the header says {width}.");
        }

        var body = frame.Length - HeaderBytes;
        if (count == 0 || (long)count * SensorFeatures.Count * sizeof(float) != body)
        {
            return RequestErrors.One("row_count", $"The header says {count} rows of {SensorFeatures.Count} float32 values; the frame carries {body} bytes after the header.");
        }

        if (count > maxRows)
        {
            return RequestErrors.TooLarge("row_count", $"A frame holds at most {maxRows} rows, as a JSON batch does; the header says {count}.");
        }

        rows = (int)count;
        return null;
    }

    /// <summary>Reads the rows of a frame whose header <see cref="ReadHeader"/> accepted into <paramref name="batch"/>; non-finite values are named.</summary>
    public static RequestErrors? ReadRows(ReadOnlySpan<byte> frame, SensorBatch batch)
    {
        RequestErrors? errors = null;
        var values = frame[HeaderBytes..];
        var rows = values.Length / (SensorFeatures.Count * sizeof(float));
        Span<float> row = stackalloc float[SensorFeatures.Count];
        for (var i = 0; i < rows; i++)
        {
            var finite = true;
            for (var v = 0; v < SensorFeatures.Count; v++)
            {
                row[v] = BinaryPrimitives.ReadSingleLittleEndian(values[(((i * SensorFeatures.Count) + v) * sizeof(float))..]);
                if (!float.IsFinite(row[v]))
                {
                    finite = false;
                    RequestErrors.Add(ref errors, $"[{i}].{SensorFeatures.Names[v]}", "Values must be finite numbers (no NaN or infinity).");
                }
            }

            if (errors is { IsFull: true })
            {
                return errors;
            }

            if (finite)
            {
                batch.Add(new SensorReading(null, null, batch.Received, row[0], row[1], row[2]));
            }
        }

        return errors;
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
