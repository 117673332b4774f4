using System.Text;
using System.Text.Json;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Readings;

internal static partial class ReadingJson
{
    /// <summary>
    /// The usual body read in one pass over its bytes, with no JSON reader: one reading object or an
    /// array of them, whose fields are <c>context</c>, <c>values</c> and <c>timestamp</c>, whose strings
    /// are printable ASCII without escapes, and that holds no error. Anything else — an error to name,
    /// an escape, an unknown field — returns false with the batch emptied, for the reader-based parse
    /// to read from the start: what this takes, both read into the same readings (a test holds them to it).
    /// The JSON reader validates every number and token in a general state machine and the number is then
    /// parsed again; here the grammar is checked in the loop that finds each token's end.
    /// </summary>
    internal static bool TryParseFast(ReadOnlySpan<byte> json, ReadingBatch batch, int maxReadings, ReadingContext? given, out bool isArray)
    {
        var cursor = new Cursor(json);
        var previous = new Previous();
        isArray = cursor.Peek() == '[';
        var taken = isArray ? TakeArray(ref cursor, batch, maxReadings, given, previous) : TakeReading(ref cursor, batch, given, previous);
        if (taken && cursor.AtEnd())
        {
            return true;
        }

        batch.Clear();
        return false;
    }

    private static bool TakeArray(ref Cursor cursor, ReadingBatch batch, int maxReadings, ReadingContext? given, Previous previous)
    {
        cursor.Expect((byte)'[');
        for (var count = 1; count <= maxReadings; count++)
        {
            if (!TakeReading(ref cursor, batch, given, previous))
            {
                return false;
            }

            if (!cursor.Expect((byte)','))
            {
                return cursor.Expect((byte)']');
            }
        }

        return false;
    }

    private static bool TakeReading(ref Cursor cursor, ReadingBatch batch, ReadingContext? given, Previous previous)
    {
        if (!cursor.Expect((byte)'{'))
        {
            return false;
        }

        var mark = batch.ValueMark;
        DateTimeOffset? timestamp = null;
        ReadingContext? context = null;
        bool seenTimestamp = false, seenContext = false, seenValues = false;
        do
        {
            if (!cursor.String(out var field) || !cursor.Expect((byte)':'))
            {
                return false;
            }

            if (field.SequenceEqual("context"u8) && !seenContext)
            {
                seenContext = true;
                if ((context = TakeContext(ref cursor, given, previous)) is null)
                {
                    return false;
                }
            }
            else if (field.SequenceEqual("values"u8) && !seenValues)
            {
                seenValues = true;
                if (!TakeValues(ref cursor, batch, mark, previous))
                {
                    return false;
                }
            }
            else if (field.SequenceEqual("timestamp"u8) && !seenTimestamp)
            {
                seenTimestamp = true;
                if (!cursor.Null() && !TakeTime(ref cursor, out timestamp))
                {
                    return false;
                }
            }
            else
            {
                return false;
            }
        }
        while (cursor.Expect((byte)','));

        context ??= given;
        if (!cursor.Expect((byte)'}') || !seenValues || context is null)
        {
            return false;
        }

        batch.Add(timestamp, context, mark);
        return true;
    }

    private static bool TakeTime(ref Cursor cursor, out DateTimeOffset? timestamp)
    {
        timestamp = null;
        var start = cursor.Position;
        if (!cursor.String(out _))
        {
            return false;
        }

        // The quoted string, read as the reader-based parse reads it.
        var reader = new Utf8JsonReader(cursor.Since(start));
        reader.Read();
        if (!WireTime.TryRead(ref reader, out var time))
        {
            return false;
        }

        timestamp = time;
        return true;
    }

    private static ReadingContext? TakeContext(ref Cursor cursor, ReadingContext? given, Previous previous)
    {
        if (!cursor.Expect((byte)'{'))
        {
            return null;
        }

        var values = previous.Scratch;
        Array.Clear(values);
        Span<char> chars = stackalloc char[MaxNameLength];
        if (!cursor.Expect((byte)'}'))
        {
            var field = -1;
            do
            {
                if (!cursor.String(out var name) || !cursor.Expect((byte)':'))
                {
                    return null;
                }

                // Mostly in the fields' own order: the one after the last is tried first.
                field = field + 1 < ContextNames.Length && name.SequenceEqual(ContextNames[field + 1]) ? field + 1 : Field(name);
                if (field < 0 || values[field] is not null)
                {
                    return null;
                }

                if (cursor.Null())
                {
                    continue;
                }

                if (!cursor.String(out var value))
                {
                    return null;
                }

                if (value.Length is 0 or > MaxNameLength)
                {
                    return null;
                }

                var text = chars[..Encoding.ASCII.GetChars(value, chars)];
                values[field] = previous.Context[field] is { } before && text.SequenceEqual(before) ? before : previous.Context[field] = previous.Text(field, text);
            }
            while (cursor.Expect((byte)','));

            if (!cursor.Expect((byte)'}'))
            {
                return null;
            }
        }

        Complete(values, given);
        return values[0] is { Length: > 0 } ? ContextObject(values, previous) : null;
    }

    private static int Field(ReadOnlySpan<byte> name)
    {
        for (var field = 0; field < ContextNames.Length; field++)
        {
            if (name.SequenceEqual(ContextNames[field]))
            {
                return field;
            }
        }

        return -1;
    }

    private static bool TakeValues(ref Cursor cursor, ReadingBatch batch, int mark, Previous previous)
    {
        if (!cursor.Expect((byte)'{'))
        {
            return false;
        }

        Span<char> buffer = stackalloc char[MaxNameLength];
        var names = previous.Names;
        var inOrder = true;
        var position = 0;
        do
        {
            if (!cursor.String(out var utf8) || !cursor.Expect((byte)':'))
            {
                return false;
            }

            string name;
            bool interned;
            if (inOrder && position < names.Count && utf8.SequenceEqual(names[position].Utf8))
            {
                (name, _, interned) = names[position];
            }
            else if (utf8.Length is > 0 and <= MaxNameLength)
            {
                inOrder = false;
                var length = Encoding.ASCII.GetChars(utf8, buffer);
                name = Intern(buffer[..length], out interned);
            }
            else
            {
                return false;
            }

            position++;
            for (var i = mark; i < batch.ValueMark && !(inOrder && previous.NamesDistinct); i++)
            {
                if (ReferenceEquals(batch.NameAt(i), name) || (!interned && batch.NameAt(i) == name))
                {
                    return false;
                }
            }

            if (!cursor.Number(out var number) || !double.IsFinite(number) || !float.IsFinite((float)number))
            {
                return false;
            }

            batch.AddValue(name, (float)number);
        }
        while (cursor.Expect((byte)','));

        if (!cursor.Expect((byte)'}'))
        {
            return false;
        }

        if (!inOrder || position != names.Count)
        {
            RememberNames(batch, mark, previous);
        }

        return true;
    }

    /// <summary>Where the fast parse stands in the body: each method skips the whitespace before its token.</summary>
    private ref struct Cursor(ReadOnlySpan<byte> json)
    {
        private readonly ReadOnlySpan<byte> _json = json;
        private int _at;

        public readonly int Position => _at;

        public readonly ReadOnlySpan<byte> Since(int start) => _json[start.._at];

        public byte Peek()
        {
            SkipWhitespace();
            return _at < _json.Length ? _json[_at] : (byte)0;
        }

        public bool AtEnd() => Peek() == 0 && _at == _json.Length;

        public bool Expect(byte token)
        {
            if (Peek() != token)
            {
                return false;
            }

            _at++;
            return true;
        }

        public bool Null()
        {
            if (Peek() != 'n' || !_json[_at..].StartsWith("null"u8))
            {
                return false;
            }

            _at += 4;
            return true;
        }

        /// <summary>A string of printable ASCII without escapes: its bytes between the quotes.</summary>
        public bool String(out ReadOnlySpan<byte> text)
        {
            text = default;
            if (Peek() != '"')
            {
                return false;
            }

            var rest = _json[(_at + 1)..];
            var end = rest.IndexOf((byte)'"');
            if (end < 0 || rest[..end].IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) >= 0 || rest[..end].Contains((byte)'\\'))
            {
                return false;
            }

            text = rest[..end];
            _at += end + 2;
            return true;
        }

        /// <summary>A JSON number, as <see cref="JsonNumber"/> reads it: the double the JSON reader's TryGetDouble makes of it.</summary>
        public bool Number(out double number)
        {
            Peek();
            if (!JsonNumber.TryRead(_json[_at..], out number, out var consumed))
            {
                return false;
            }

            _at += consumed;
            // A number runs into the next token only through whitespace or punctuation: "1x" is no number.
            return _at == _json.Length || _json[_at] is (byte)',' or (byte)'}' or (byte)']' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r';
        }

        private void SkipWhitespace()
        {
            while (_at < _json.Length && _json[_at] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                _at++;
            }
        }
    }
}
