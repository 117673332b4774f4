using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Results.Storage;

/// <summary>
/// Up to <see cref="MaxRows"/> sensor predictions kept as one value of the embedded store: the block's
/// strings once each (a dictionary: tools, sensors, models, requests repeat from row to row), then
/// each row's fields packed, times as differences. Writing one costs a few array writes a row where a
/// table row costs an insert into every index; a query reads the blocks its filters cannot rule out
/// (by time, tool, model, anomalies: the block's columns) and the rows in them.
/// </summary>
internal static class PredictionBlock
{
    /// <summary>Most rows a block holds: a query that needs one row of it reads all of them.</summary>
    public const int MaxRows = 4096;

    private const byte Version = 1;

    // A row's flags: which of its optional numbers are there, and whether it is an anomaly.
    private const byte HasTemperature = 1, HasPressure = 2, HasFlowRate = 4, Anomaly = 8;

    /// <summary>What a block's own columns say of its rows, so that queries can pass it by unread.</summary>
    public readonly record struct Summary(int Rows, long MinTime, long MaxTime, long MaxPredictedAt, int Anomalies, string? ToolId, string? Model);

    /// <summary>
    /// Encodes <paramref name="rows"/> (at most <see cref="MaxRows"/>) into <paramref name="output"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A row lacks a field the store must keep (its source, model or request).</exception>
    public static Summary Write(ReadOnlySpan<PredictionRecord> rows, ArrayBufferWriter<byte> output)
    {
        if (rows.Length is 0 or > MaxRows)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), rows.Length, $"A block holds 1 to {MaxRows} rows.");
        }

        var strings = new Dictionary<string, int>(StringComparer.Ordinal);
        var dictionary = new List<string>();
        var body = new ArrayBufferWriter<byte>(rows.Length * 40);
        long minTime = long.MaxValue, maxTime = long.MinValue, maxPredictedAt = long.MinValue, previous = 0;
        var anomalies = 0;
        string? tool = rows[0].ToolId, model = rows[0].Model;
        bool oneTool = true, oneModel = true;
        foreach (ref readonly var row in rows)
        {
            var time = UnixMicroseconds.From(row.Time);
            var predictedAt = UnixMicroseconds.From(row.PredictedAt);
            (minTime, maxTime, maxPredictedAt) = (Math.Min(minTime, time), Math.Max(maxTime, time), Math.Max(maxPredictedAt, predictedAt));
            oneTool &= row.ToolId == tool;
            oneModel &= row.Model == model;
            var span = body.GetSpan(128);
            var n = 0;
            var flags = (byte)((row.Temperature is null ? 0 : HasTemperature) | (row.Pressure is null ? 0 : HasPressure)
                | (row.FlowRate is null ? 0 : HasFlowRate) | (row.IsAnomaly ? Anomaly : 0));
            anomalies += row.IsAnomaly ? 1 : 0;
            span[n++] = flags;
            span[n++] = (byte)row.Class;
            n += WriteSigned(span[n..], time - previous);
            n += WriteSigned(span[n..], predictedAt - time);
            previous = time;
            n += WriteUnsigned(span[n..], (ulong)(uint)row.ModelVersion);
            n += WriteString(span[n..], Required(row.Source, nameof(row.Source)));
            n += WriteString(span[n..], row.ToolId);
            n += WriteString(span[n..], row.SensorId);
            n += WriteString(span[n..], Required(row.Model, nameof(row.Model)));
            n += WriteString(span[n..], Required(row.RequestId, nameof(row.RequestId)));
            var context = row.Context;
            n += WriteString(span[n..], context?.ChamberId);
            n += WriteString(span[n..], context?.Recipe);
            n += WriteString(span[n..], context?.Step);
            n += WriteString(span[n..], context?.LotId);
            n += WriteString(span[n..], context?.WaferId);
            n += WriteString(span[n..], row.Values);
            BinaryPrimitives.WriteSingleLittleEndian(span[n..], row.Score);
            BinaryPrimitives.WriteDoubleLittleEndian(span[(n + 4)..], row.LatencyMs);
            n += 12;
            n += WriteFloat(span[n..], row.Temperature);
            n += WriteFloat(span[n..], row.Pressure);
            n += WriteFloat(span[n..], row.FlowRate);
            body.Advance(n);
        }

        // The header: version, rows, the dictionary (each string's UTF-8 length and bytes), then the rows.
        var head = output.GetSpan(16);
        head[0] = Version;
        var h = 1 + WriteUnsigned(head[1..], (ulong)rows.Length);
        h += WriteUnsigned(head[h..], (ulong)dictionary.Count);
        output.Advance(h);
        foreach (var s in dictionary)
        {
            var bytes = Encoding.UTF8.GetByteCount(s);
            var span = output.GetSpan(bytes + 5);
            var m = WriteUnsigned(span, (ulong)bytes);
            Encoding.UTF8.GetBytes(s, span[m..]);
            output.Advance(m + bytes);
        }

        output.Write(body.WrittenSpan);
        return new Summary(rows.Length, minTime, maxTime, maxPredictedAt, anomalies, oneTool ? tool : null, oneModel ? model : null);

        // A string as its place in the dictionary plus one (0: null).
        int WriteString(Span<byte> span, string? value)
        {
            if (value is null)
            {
                span[0] = 0;
                return 1;
            }

            if (!strings.TryGetValue(value, out var index))
            {
                index = dictionary.Count;
                strings.Add(value, index);
                dictionary.Add(value);
            }

            return WriteUnsigned(span, (ulong)index + 1);
        }
    }

    /// <summary>Reads a block's rows, numbered from <paramref name="firstId"/>, handing each that <paramref name="keep"/> accepts to <paramref name="rows"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a block this server wrote.</exception>
    public static void Read(ReadOnlySpan<byte> data, long firstId, Func<PredictionRecord, bool> keep, List<StoredPrediction> rows)
    {
        if (data.Length < 3 || data[0] != Version)
        {
            throw new InvalidDataException($"A stored block of predictions has version {(data.Length > 0 ? data[0] : -1)}, not {Version}.");
        }

        var p = 1;
        var count = (int)ReadUnsigned(data, ref p);
        var dictionary = new string[(int)ReadUnsigned(data, ref p)];
        for (var i = 0; i < dictionary.Length; i++)
        {
            var length = (int)ReadUnsigned(data, ref p);
            dictionary[i] = Encoding.UTF8.GetString(data.Slice(p, length));
            p += length;
        }

        long time = 0;
        for (var i = 0; i < count; i++)
        {
            var flags = data[p++];
            var latencyClass = (LatencyClass)data[p++];
            time += ReadSigned(data, ref p);
            var predictedAt = time + ReadSigned(data, ref p);
            var version = (int)(uint)ReadUnsigned(data, ref p);
            var source = Text(data, ref p)!;
            var tool = Text(data, ref p);
            var sensor = Text(data, ref p);
            var model = Text(data, ref p)!;
            var request = Text(data, ref p)!;
            var chamber = Text(data, ref p);
            var recipe = Text(data, ref p);
            var step = Text(data, ref p);
            var lot = Text(data, ref p);
            var wafer = Text(data, ref p);
            var values = Text(data, ref p);
            var score = BinaryPrimitives.ReadSingleLittleEndian(data[p..]);
            var latency = BinaryPrimitives.ReadDoubleLittleEndian(data[(p + 4)..]);
            p += 12;
            var temperature = ReadFloat(data, ref p, flags, HasTemperature);
            var pressure = ReadFloat(data, ref p, flags, HasPressure);
            var flow = ReadFloat(data, ref p, flags, HasFlowRate);
            var hasContext = chamber is not null || recipe is not null || step is not null || lot is not null || wafer is not null || values is not null;
            var record = new PredictionRecord(
                UnixMicroseconds.ToTime(time), UnixMicroseconds.ToTime(predictedAt), source, tool, sensor, model, version,
                temperature, pressure, flow, score, (flags & Anomaly) != 0, latency, latencyClass, request)
            {
                Context = hasContext ? new ReadingContext(tool ?? "", chamber, recipe, step, lot, wafer) : null,
                Values = values,
            };
            if (keep(record))
            {
                rows.Add(new StoredPrediction(firstId + i, record));
            }
        }

        string? Text(ReadOnlySpan<byte> span, ref int at)
        {
            var index = ReadUnsigned(span, ref at);
            return index == 0 ? null : dictionary[(int)index - 1];
        }
    }

    private static string Required(string? value, string field) =>
        value ?? throw new ArgumentException($"A prediction's {field} is required: the store keeps none without it.", field);

    private static int WriteFloat(Span<byte> span, float? value)
    {
        if (value is not { } v)
        {
            return 0;
        }

        BinaryPrimitives.WriteSingleLittleEndian(span, v);
        return 4;
    }

    private static float? ReadFloat(ReadOnlySpan<byte> data, ref int p, byte flags, byte flag)
    {
        if ((flags & flag) == 0)
        {
            return null;
        }

        var value = BinaryPrimitives.ReadSingleLittleEndian(data[p..]);
        p += 4;
        return value;
    }

    private static int WriteSigned(Span<byte> span, long value) => WriteUnsigned(span, (ulong)((value << 1) ^ (value >> 63)));

    private static int WriteUnsigned(Span<byte> span, ulong value)
    {
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        return n;
    }

    private static long ReadSigned(ReadOnlySpan<byte> data, ref int p)
    {
        var value = ReadUnsigned(data, ref p);
        return (long)(value >> 1) ^ -(long)(value & 1);
    }

    private static ulong ReadUnsigned(ReadOnlySpan<byte> data, ref int p)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = data[p++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException("A stored block of predictions has a number longer than ten bytes.");
    }
}
