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
/// (by time, tool, model, anomalies: the block's columns) and the rows in them. An instance is a
/// writer's: it keeps the buffers one block's writing needs for the next.
/// </summary>
internal sealed class PredictionBlock
{
    /// <summary>Most rows a block holds: a query that needs one row of it reads all of them.</summary>
    public const int MaxRows = 4096;

    private const byte Version = 1;

    // A row's flags: which of its optional numbers are there, and whether it is an anomaly.
    private const byte HasTemperature = 1, HasPressure = 2, HasFlowRate = 4, Anomaly = 8;

    // The string columns a row has (source, tool, sensor, model, request, the five context fields, values).
    private const int StringColumns = 11;

    private readonly Dictionary<string, int> _strings = new(StringComparer.Ordinal);
    private readonly List<string> _dictionary = [];
    private readonly ArrayBufferWriter<byte> _body = new(MaxRows * 64);
    private readonly (string? Value, int Index)[] _last = new (string?, int)[StringColumns];

    /// <summary>What a block's own columns say of its rows, so that queries can pass it by unread.</summary>
    public readonly record struct Summary(int Rows, long MinTime, long MaxTime, long MaxPredictedAt, int Anomalies, string? ToolId, string? Model);

    // The block being written: its rows so far and what its columns will say of them.
    private int _rows;
    private long _minTime, _maxTime, _maxPredictedAt, _previous;
    private int _anomalies;
    private string? _tool, _model;
    private bool _oneTool, _oneModel;

    /// <summary>How many rows the block being written has: <see cref="Finish"/> it at <see cref="MaxRows"/>.</summary>
    public int Rows => _rows;

    /// <summary>Adds a row to the block being written (the first row begins one).</summary>
    /// <exception cref="ArgumentException">The row lacks a field the store must keep (its source, model or request).</exception>
    /// <exception cref="InvalidOperationException">The block has <see cref="MaxRows"/> rows already.</exception>
    public void Add(in PredictionRecord row)
    {
        if (_rows == MaxRows)
        {
            throw new InvalidOperationException($"A block holds at most {MaxRows} rows.");
        }

        var time = UnixMicroseconds.From(row.Time);
        var predictedAt = UnixMicroseconds.From(row.PredictedAt);
        if (_rows++ == 0)
        {
            _strings.Clear();
            _dictionary.Clear();
            _body.ResetWrittenCount();
            Array.Clear(_last);
            (_minTime, _maxTime, _maxPredictedAt, _previous, _anomalies) = (time, time, predictedAt, 0, 0);
            (_tool, _model, _oneTool, _oneModel) = (row.ToolId, row.Model, true, true);
        }

        _minTime = Math.Min(_minTime, time);
        _maxTime = Math.Max(_maxTime, time);
        _maxPredictedAt = Math.Max(_maxPredictedAt, predictedAt);
        _oneTool &= ReferenceEquals(row.ToolId, _tool) || row.ToolId == _tool;
        _oneModel &= ReferenceEquals(row.Model, _model) || row.Model == _model;
        _anomalies += row.IsAnomaly ? 1 : 0;
        var span = _body.GetSpan(128);
        var n = 0;
        span[n++] = (byte)((row.Temperature is null ? 0 : HasTemperature) | (row.Pressure is null ? 0 : HasPressure)
            | (row.FlowRate is null ? 0 : HasFlowRate) | (row.IsAnomaly ? Anomaly : 0));
        span[n++] = (byte)row.Class;
        n += WriteSigned(span[n..], time - _previous);
        n += WriteSigned(span[n..], predictedAt - time);
        _previous = time;
        n += WriteUnsigned(span[n..], (uint)row.ModelVersion);
        n += WriteString(span[n..], 0, Required(row.Source, nameof(row.Source)));
        n += WriteString(span[n..], 1, row.ToolId);
        n += WriteString(span[n..], 2, row.SensorId);
        n += WriteString(span[n..], 3, Required(row.Model, nameof(row.Model)));
        n += WriteString(span[n..], 4, Required(row.RequestId, nameof(row.RequestId)));
        if (row.Context is { } context)
        {
            n += WriteString(span[n..], 5, context.ChamberId);
            n += WriteString(span[n..], 6, context.Recipe);
            n += WriteString(span[n..], 7, context.Step);
            n += WriteString(span[n..], 8, context.LotId);
            n += WriteString(span[n..], 9, context.WaferId);
        }
        else
        {
            span.Slice(n, 5).Clear();
            n += 5;
        }

        n += WriteString(span[n..], 10, row.Values);
        BinaryPrimitives.WriteSingleLittleEndian(span[n..], row.Score);
        BinaryPrimitives.WriteDoubleLittleEndian(span[(n + 4)..], row.LatencyMs);
        n += 12;
        n += WriteFloat(span[n..], row.Temperature);
        n += WriteFloat(span[n..], row.Pressure);
        n += WriteFloat(span[n..], row.FlowRate);
        _body.Advance(n);
    }

    /// <summary>Writes the block's bytes to <paramref name="output"/> and says what its columns are; the next <see cref="Add"/> begins a new one.</summary>
    public Summary Finish(ArrayBufferWriter<byte> output)
    {
        if (_rows == 0)
        {
            throw new InvalidOperationException("A block has at least one row.");
        }

        // The header: version, rows, the dictionary (each string's UTF-8 length and bytes), then the rows.
        var head = output.GetSpan(16);
        head[0] = Version;
        var h = 1 + WriteUnsigned(head[1..], (ulong)_rows);
        h += WriteUnsigned(head[h..], (ulong)_dictionary.Count);
        output.Advance(h);
        foreach (var s in _dictionary)
        {
            var bytes = Encoding.UTF8.GetByteCount(s);
            var span = output.GetSpan(bytes + 5);
            var m = WriteUnsigned(span, (ulong)bytes);
            Encoding.UTF8.GetBytes(s, span[m..]);
            output.Advance(m + bytes);
        }

        output.Write(_body.WrittenSpan);
        var summary = new Summary(_rows, _minTime, _maxTime, _maxPredictedAt, _anomalies, _oneTool ? _tool : null, _oneModel ? _model : null);
        _rows = 0;
        return summary;
    }

    /// <summary>Drops the rows added since the last <see cref="Finish"/> (a write that failed).</summary>
    public void Discard() => _rows = 0;

    // A string as its place in the dictionary plus one (0: null). Rows mostly repeat the string of the
    // row before in the same column (one source, model, request): those cost a reference compare.
    private int WriteString(Span<byte> span, int column, string? value)
    {
        if (value is null)
        {
            span[0] = 0;
            return 1;
        }

        ref var seen = ref _last[column];
        if (!ReferenceEquals(seen.Value, value))
        {
            if (!_strings.TryGetValue(value, out var index))
            {
                index = _dictionary.Count;
                _strings.Add(value, index);
                _dictionary.Add(value);
            }

            seen = (value, index);
        }

        return WriteUnsigned(span, (ulong)seen.Index + 1);
    }

    /// <summary>Reads a block's rows, numbered from <paramref name="firstId"/>, handing each that <paramref name="keep"/> accepts to <paramref name="rows"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a block this server wrote.</exception>
    public static void Read(ReadOnlySpan<byte> data, long firstId, Func<StoredPrediction, bool> keep, List<StoredPrediction> rows)
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
            var stored = new StoredPrediction(firstId + i, record);
            if (keep(stored))
            {
                rows.Add(stored);
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
