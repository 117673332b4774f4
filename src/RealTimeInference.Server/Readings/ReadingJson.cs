using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Readings;

/// <summary>
/// Reads <c>{"timestamp", "context": {"tool_id", …}, "values": {"&lt;sensor&gt;": number, …}}</c>, one
/// object or an array of them, straight from the request bytes into a <see cref="ReadingBatch"/>;
/// a bad reading gets every field at fault named (<c>[i].values.rf_power</c>).
/// </summary>
internal static partial class ReadingJson
{
    /// <summary>Longest sensor name or context value, in characters.</summary>
    public const int MaxNameLength = 128;

    /// <summary>The smallest possible reading, <c>{"context":{"tool_id":""},"values":{"a":0}}</c>, bounds readings per byte.</summary>
    public const int MinReadingBytes = 40;

    /// <summary>Sensor names and the tool, chamber, recipe and step values kept once each, up to this many; past it they are copied per reading.</summary>
    private const int MaxInterned = 100_000;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 4 };

    private static readonly byte[][] ContextNames = [.. ReadingContext.Fields.Select(Encoding.UTF8.GetBytes)];

    private static readonly string[] ContextPaths = [.. ReadingContext.Fields.Select(f => "context." + f)];

    private static readonly ConcurrentDictionary<string, string> Interned = new(StringComparer.Ordinal);

    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> InternedBySpan =
        Interned.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>How many readings a body of <paramref name="bytes"/> bytes can hold, at most <paramref name="maxReadings"/>.</summary>
    public static int CapacityFor(long bytes, int maxReadings) => (int)Math.Min(maxReadings, (bytes / MinReadingBytes) + 1);

    /// <summary>
    /// Whether a body is in this shape — its first reading has a <c>context</c> or <c>values</c> — rather
    /// than the seed's <c>/predict</c> one: a broker carries both, and this tells them apart by reading
    /// the first object's field names only. False for what is no JSON object at all (the seed's parser names the fault).
    /// </summary>
    public static bool IsContextShape(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, ReaderOptions);
        try
        {
            if (!reader.Read() || (reader.TokenType == JsonTokenType.StartArray && !reader.Read()) || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("context"u8) || reader.ValueTextEquals("values"u8))
                {
                    return true;
                }

                reader.Read();
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Malformed: not this shape's to name.
        }

        return false;
    }

    /// <summary>Parses one reading object, or an array of at most <paramref name="maxReadings"/>, into <paramref name="batch"/>.</summary>
    /// <param name="body">The JSON.</param>
    /// <param name="batch">Where the readings go.</param>
    /// <param name="maxReadings">The most an array may hold.</param>
    /// <param name="isArray">Whether the body was an array.</param>
    /// <param name="given">The tool and chamber the transport names (an MQTT topic's), for readings whose context names none; null for none.</param>
    public static RequestErrors? Parse(in ReadOnlySequence<byte> body, ReadingBatch batch, int maxReadings, out bool isArray, ReadingContext? given = null)
    {
        isArray = false;
        if (body.IsEmpty)
        {
            return RequestErrors.One("$", "The request body is empty; send a reading object or an array of them.");
        }

        if (!body.IsSingleSegment)
        {
            // A body in several buffers (the request's, as it arrived) is read much faster as one: copied once.
            var length = checked((int)body.Length);
            var copy = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                body.CopyTo(copy);
                return Parse(new ReadOnlySequence<byte>(copy, 0, length), batch, maxReadings, out isArray, given);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }

        return TryParseFast(body.FirstSpan, batch, maxReadings, given, out isArray) ? null : ParseWithReader(body, batch, maxReadings, out isArray, given);
    }

    /// <summary><see cref="Parse"/> for any body, with every fault named: the one the fast parse leaves.</summary>
    internal static RequestErrors? ParseWithReader(in ReadOnlySequence<byte> body, ReadingBatch batch, int maxReadings, out bool isArray, ReadingContext? given = null)
    {
        isArray = false;
        var reader = new Utf8JsonReader(body, ReaderOptions);
        RequestErrors? errors = null;
        var previous = new Previous();
        try
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                ReadReading(ref reader, null, batch, given, previous, ref errors);
                return errors ?? SensorReadingJson.ExpectEnd(ref reader);
            }

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return RequestErrors.One("$", "Expected a reading object or an array of them.");
            }

            isArray = true;
            var readings = new Readings(batch, given, previous);
            if (SensorReadingJson.ReadArray(ref reader, maxReadings, $"A request holds at most {maxReadings} readings.", ref readings, ref errors, out var index) is { } stop)
            {
                return stop;
            }

            return index == 0 ? RequestErrors.One("$", "The array is empty; send at least one reading.") : errors ?? SensorReadingJson.ExpectEnd(ref reader);
        }
        catch (JsonException ex)
        {
            return SensorReadingJson.Malformed(errors, ex);
        }
    }

    /// <summary>The readings with context of an array, into their batch.</summary>
    private readonly struct Readings(ReadingBatch batch, ReadingContext? given, Previous previous) : SensorReadingJson.IElementReader
    {
        public void Read(ref Utf8JsonReader reader, int index, ref RequestErrors? errors) => ReadReading(ref reader, index, batch, given, previous, ref errors);
    }

    /// <summary>
    /// What the reading before named, by position: the readings of a request mostly name the same sensors in
    /// the same order, and often the same place, so each name and context value is compared as UTF-8 with
    /// the one before and its string reused, rather than decoded and looked up again.
    /// </summary>
    private sealed class Previous
    {
        /// <summary>The sensor names of the reading before, in its order, as text and as UTF-8.</summary>
        public List<(string Name, byte[] Utf8, bool Interned)> Names { get; } = [];

        /// <summary>Whether those names were all distinct: a reading naming the same ones in the same order has no duplicate either.</summary>
        public bool NamesDistinct { get; set; }

        /// <summary>Each context field's value in the reading before.</summary>
        public string?[] Context { get; } = new string?[ReadingContext.Fields.Count];

        /// <summary>Where a context's values are gathered, reading after reading.</summary>
        public string?[] Scratch { get; } = new string?[ReadingContext.Fields.Count];

        /// <summary>The context of the reading before: the same values make the same instance.</summary>
        public ReadingContext? ContextObject { get; set; }

        /// <summary>The lot and wafer ids of this body, each kept once (they are too many to keep for good, as the tool, chamber, recipe and step are).</summary>
        private readonly Dictionary<string, string> _ids;

        private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _idsBySpan;

        public Previous()
        {
            _ids = new(StringComparer.Ordinal);
            _idsBySpan = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        /// <summary>A context field's value as text: kept for good (the first four fields) or for this body.</summary>
        public string Text(int field, ReadOnlySpan<char> value)
        {
            if (field < 4)
            {
                return Intern(value, out _);
            }

            if (!_idsBySpan.TryGetValue(value, out var id))
            {
                id = value.ToString();
                _ids[id] = id;
            }

            return id;
        }
    }

    private static void ReadReading(ref Utf8JsonReader reader, int? index, ReadingBatch batch, ReadingContext? given, Previous previous, ref RequestErrors? errors)
    {
        var errorsBefore = errors?.Errors.Count ?? 0;
        var mark = batch.ValueMark;
        DateTimeOffset? timestamp = null;
        ReadingContext? context = null;
        bool seenTimestamp = false, seenContext = false, seenValues = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("timestamp"u8))
            {
                reader.Read();
                if (Twice(ref reader, ref seenTimestamp, index, "timestamp", ref errors) || reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (WireTime.TryRead(ref reader, out var time))
                {
                    timestamp = time;
                }
                else
                {
                    Add(ref errors, index, "timestamp", "timestamp must be an RFC 3339 date-time string, e.g. 2026-01-01T08:00:00Z.");
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("context"u8))
            {
                reader.Read();
                if (!Twice(ref reader, ref seenContext, index, "context", ref errors))
                {
                    context = ReadContext(ref reader, index, given, previous, ref errors);
                }
            }
            else if (reader.ValueTextEquals("values"u8))
            {
                reader.Read();
                if (!Twice(ref reader, ref seenValues, index, "values", ref errors))
                {
                    ReadValues(ref reader, index, batch, mark, previous, ref errors);
                }
            }
            else
            {
                // Unknown fields are ignored, as on /predict.
                reader.Read();
                reader.Skip();
            }
        }

        if (!seenContext)
        {
            if (given is null)
            {
                Add(ref errors, index, "context", "context is required, with at least tool_id.");
            }

            context = given;
        }

        if (!seenValues)
        {
            Add(ref errors, index, "values", "values is required: an object of sensor names and numbers.");
        }

        if ((errors?.Errors.Count ?? 0) == errorsBefore && context is not null)
        {
            batch.Add(timestamp, context, mark);
        }
        else
        {
            batch.Discard(mark);
        }
    }

    /// <summary>Whether the field was seen already in this reading (then named and skipped).</summary>
    private static bool Twice(ref Utf8JsonReader reader, ref bool seen, int? index, string field, ref RequestErrors? errors)
    {
        if (!seen)
        {
            seen = true;
            return false;
        }

        Add(ref errors, index, field, $"{field} appears more than once.");
        reader.Skip();
        return true;
    }

    private static ReadingContext? ReadContext(ref Utf8JsonReader reader, int? index, ReadingContext? given, Previous previous, ref RequestErrors? errors)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Add(ref errors, index, "context", "context must be an object: {\"tool_id\", \"chamber_id\", \"recipe\", \"step\", \"lot_id\", \"wafer_id\"}.");
            reader.Skip();
            return null;
        }

        var values = previous.Scratch;
        Array.Clear(values);
        var bad = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = -1;
            for (var i = 0; i < values.Length && field < 0; i++)
            {
                if (reader.ValueTextEquals(ContextNames[i]))
                {
                    field = i;
                }
            }

            var name = field >= 0 ? ReadingContext.Fields[field] : reader.GetString() ?? "";
            reader.Read();
            var path = field >= 0 ? ContextPaths[field] : $"context.{name}";
            if (field < 0)
            {
                Add(ref errors, index, path, $"{path} is not a context field (they are {string.Join(", ", ReadingContext.Fields)}).");
                reader.Skip();
                bad = true;
            }
            else if (values[field] is not null)
            {
                Add(ref errors, index, path, $"{path} appears more than once.");
                reader.Skip();
                bad = true;
            }
            else if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }
            else if (reader.TokenType == JsonTokenType.String && previous.Context[field] is { } before && reader.ValueTextEquals(before))
            {
                values[field] = before;
            }
            else if (ReadText(ref reader, index, path, intern: field < 4, ref errors) is { } text)
            {
                values[field] = previous.Context[field] = text;
            }
            else
            {
                bad = true;
            }
        }

        Complete(values, given);
        if (values[0] is not { Length: > 0 })
        {
            Add(ref errors, index, "context.tool_id", "context.tool_id is required.");
            return null;
        }

        return bad ? null : ContextObject(values, previous);
    }

    /// <summary>The transport's tool and chamber, for a context that names neither: its chamber belongs to its tool, so a reading naming another tool keeps its own context.</summary>
    private static void Complete(string?[] values, ReadingContext? given)
    {
        if (given is not null && (values[0] is null || values[0] == given.ToolId))
        {
            values[0] ??= given.ToolId;
            values[1] ??= given.ChamberId;
        }
    }

    /// <summary>The context of gathered values with a tool: the instance of the reading before when they are its values.</summary>
    private static ReadingContext ContextObject(string?[] values, Previous previous)
    {
        if (previous.ContextObject is { } last && ReferenceEquals(last.ToolId, values[0]) && ReferenceEquals(last.ChamberId, values[1])
            && ReferenceEquals(last.Recipe, values[2]) && ReferenceEquals(last.Step, values[3]) && ReferenceEquals(last.LotId, values[4]) && ReferenceEquals(last.WaferId, values[5]))
        {
            return last;
        }

        return previous.ContextObject = new ReadingContext(values[0]!, values[1], values[2], values[3], values[4], values[5]);
    }

    private static void ReadValues(ref Utf8JsonReader reader, int? index, ReadingBatch batch, int mark, Previous previous, ref RequestErrors? errors)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Add(ref errors, index, "values", "values must be an object of sensor names and numbers, e.g. {\"rf_power\": 1500}.");
            reader.Skip();
            return;
        }

        Span<char> buffer = stackalloc char[MaxNameLength];
        var names = previous.Names;
        // Whether every name so far is the one the reading before had at its place.
        var inOrder = true;
        var position = 0;
        var errorsBefore = errors?.Errors.Count ?? 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string? name;
            bool interned;
            if (inOrder && position < names.Count && reader.ValueTextEquals(names[position].Utf8))
            {
                (name, _, interned) = names[position];
            }
            else
            {
                inOrder = false;
                name = NameOf(ref reader, buffer, out interned);
            }

            position++;
            reader.Read();
            if (name is null)
            {
                Add(ref errors, index, "values", $"Sensor names must be 1 to {MaxNameLength} characters of valid Unicode text.");
                reader.Skip();
                continue;
            }

            // Interned names are equal only when they are the same string; a name past the interning cap is compared by its text.
            var twice = false;
            for (var i = mark; i < batch.ValueMark && !twice && !(inOrder && previous.NamesDistinct); i++)
            {
                twice = ReferenceEquals(batch.NameAt(i), name) || (!interned && batch.NameAt(i) == name);
            }

            if (twice)
            {
                Add(ref errors, index, "values." + name, $"values.{name} appears more than once.");
                reader.Skip();
                continue;
            }

            if (reader.TokenType != JsonTokenType.Number)
            {
                Add(ref errors, index, "values." + name, reader.TokenType == JsonTokenType.Null ? $"values.{name} must be a number, not null." : $"values.{name} must be a number.");
                reader.Skip();
                continue;
            }

            // float.MaxValue as usually printed (3.4028235e38) rounds just above it as a double: compare as float.
            if (!reader.TryGetDouble(out var number) || !double.IsFinite(number) || !float.IsFinite((float)number))
            {
                Add(ref errors, index, "values." + name, $"values.{name} must be a finite number within the 32-bit float range.");
                continue;
            }

            batch.AddValue(name, (float)number);
        }

        if (batch.ValueMark == mark)
        {
            Add(ref errors, index, "values", "values must name at least one sensor.");
        }

        // The next reading is compared with this one's names, when they were all good.
        if ((errors?.Errors.Count ?? 0) == errorsBefore && (!inOrder || position != names.Count))
        {
            RememberNames(batch, mark, previous);
        }
    }

    /// <summary>A good reading's sensor names (its values from <paramref name="mark"/>), for the next reading to be compared with.</summary>
    private static void RememberNames(ReadingBatch batch, int mark, Previous previous)
    {
        var names = previous.Names;
        names.Clear();
        for (var i = mark; i < batch.ValueMark; i++)
        {
            var text = batch.NameAt(i);
            names.Add((text, Encoding.UTF8.GetBytes(text), InternedBySpan.TryGetValue(text, out var known) && ReferenceEquals(known, text)));
        }

        previous.NamesDistinct = true;
    }

    /// <summary>The property name, interned; null when it is empty, too long or not valid text.</summary>
    private static string? NameOf(ref Utf8JsonReader reader, scoped Span<char> buffer, out bool interned)
    {
        interned = false;
        var bytes = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (bytes is 0 || bytes > MaxNameLength * 3)
        {
            return null;
        }

        try
        {
            var length = reader.CopyString(buffer);
            return length is 0 ? null : Intern(buffer[..length], out interned);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            // Longer than the buffer in characters, invalid UTF-8, or an escaped lone surrogate.
            return null;
        }
    }

    private static string? ReadText(ref Utf8JsonReader reader, int? index, string path, bool intern, ref RequestErrors? errors)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            Add(ref errors, index, path, $"{path} must be a string.");
            reader.Skip();
            return null;
        }

        string? text;
        try
        {
            text = reader.GetString();
        }
        catch (InvalidOperationException)
        {
            Add(ref errors, index, path, $"{path} must be valid Unicode text.");
            return null;
        }

        if (text is not { Length: > 0 and <= MaxNameLength })
        {
            Add(ref errors, index, path, $"{path} must be 1 to {MaxNameLength} characters.");
            return null;
        }

        return intern ? Intern(text) : text;
    }

    private static string Intern(ReadOnlySpan<char> text, out bool interned)
    {
        interned = true;
        if (InternedBySpan.TryGetValue(text, out var known))
        {
            return known;
        }

        var copy = text.ToString();
        interned = Interned.Count < MaxInterned;
        return interned ? Interned.GetOrAdd(copy, copy) : copy;
    }

    private static string Intern(string text) =>
        Interned.TryGetValue(text, out var known) ? known : Interned.Count < MaxInterned ? Interned.GetOrAdd(text, text) : text;

    private static void Add(ref RequestErrors? errors, int? index, string field, string message) =>
        RequestErrors.Add(ref errors, index is null ? field : $"[{index}].{field}", message);
}
