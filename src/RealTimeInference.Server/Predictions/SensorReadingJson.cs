using System.Buffers;
using System.Text.Json;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Predictions;

/// <summary>
/// Reads sensor readings straight from the request bytes into a <see cref="SensorBatch"/>, so a good
/// one costs no intermediate objects and a bad one gets every field at fault named at once.
/// </summary>
internal static class SensorReadingJson
{
    /// <summary>The smallest possible reading, <c>{"temperature":0,"pressure":0,"flow_rate":0}</c>, bounds rows per byte.</summary>
    public const int MinReadingBytes = 44;

    private const int MaxDepth = 4;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    /// <summary>How many readings a body of <paramref name="bytes"/> bytes can hold, at most <paramref name="maxReadings"/>.</summary>
    public static int CapacityFor(long bytes, int maxReadings) => (int)Math.Min(maxReadings, (bytes / MinReadingBytes) + 1);

    /// <summary>Parses one reading object into <paramref name="batch"/>.</summary>
    public static RequestErrors? ParseOne(in ReadOnlySequence<byte> body, SensorBatch batch)
    {
        if (body.IsEmpty)
        {
            return RequestErrors.One("$", "The request body is empty; send a JSON object.");
        }

        var reader = new Utf8JsonReader(body, ReaderOptions);
        RequestErrors? errors = null;
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return RequestErrors.One("$", reader.TokenType == JsonTokenType.StartArray
                    ? "Expected a JSON object; send arrays of readings to /predict-batch."
                    : "Expected a JSON object.");
            }

            ReadReading(ref reader, null, batch, ref errors);
            return errors ?? ExpectEnd(ref reader);
        }
        catch (JsonException ex)
        {
            return Malformed(errors, ex);
        }
    }

    /// <summary>
    /// Parses a JSON array of at most <paramref name="maxReadings"/> readings into <paramref name="batch"/>;
    /// up to <see cref="RequestErrors.MaxErrors"/> readings' fields at fault are named (<c>[i].field</c>).
    /// </summary>
    public static RequestErrors? ParseMany(in ReadOnlySequence<byte> body, SensorBatch batch, int maxReadings)
    {
        if (body.IsEmpty)
        {
            return RequestErrors.One("$", "The request body is empty; send a JSON array of readings.");
        }

        var reader = new Utf8JsonReader(body, ReaderOptions);
        RequestErrors? errors = null;
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return RequestErrors.One("$", "Expected a JSON array of readings.");
            }

            var readings = new Readings(batch);
            if (ReadArray(ref reader, Math.Min(maxReadings, batch.Capacity), $"A batch holds at most {maxReadings} readings.", ref readings, ref errors, out var index) is { } stop)
            {
                return stop;
            }

            return index == 0 ? RequestErrors.One("$", "The batch is empty; send at least one reading.") : errors ?? ExpectEnd(ref reader);
        }
        catch (JsonException ex)
        {
            return Malformed(errors, ex);
        }
    }

    /// <summary>How <see cref="ReadArray"/> reads one element object of the array.</summary>
    internal interface IElementReader
    {
        void Read(ref Utf8JsonReader reader, int index, ref RequestErrors? errors);
    }

    /// <summary>
    /// Reads the elements of the array the reader is at, each object by <paramref name="element"/> and
    /// anything else named as <c>[i]</c>; returns the errors to answer at once (more than
    /// <paramref name="max"/> elements: <paramref name="tooMany"/>; the errors full), else null and the elements read.
    /// </summary>
    internal static RequestErrors? ReadArray<TElement>(
        ref Utf8JsonReader reader, int max, string tooMany, ref TElement element, ref RequestErrors? errors, out int count)
        where TElement : struct, IElementReader
    {
        count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (count == max)
            {
                return RequestErrors.TooLarge("$", tooMany);
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                RequestErrors.Add(ref errors, $"[{count}]", "Each reading must be a JSON object.");
                reader.Skip();
            }
            else
            {
                element.Read(ref reader, count, ref errors);
            }

            if (errors is { IsFull: true })
            {
                return errors;
            }

            count++;
        }

        return null;
    }

    /// <summary>The seed's readings of an array, into their batch.</summary>
    private readonly struct Readings(SensorBatch batch) : IElementReader
    {
        public void Read(ref Utf8JsonReader reader, int index, ref RequestErrors? errors) => ReadReading(ref reader, index, batch, ref errors);
    }

    /// <summary>Malformed JSON ends the parse; what was already found wrong before it is kept.</summary>
    internal static RequestErrors Malformed(RequestErrors? errors, JsonException ex)
    {
        errors ??= new RequestErrors();
        errors.Add("$", $"Malformed JSON: {ex.Message}");
        return errors;
    }

    /// <summary>Reading past the value makes the reader reject anything that follows it.</summary>
    internal static RequestErrors? ExpectEnd(ref Utf8JsonReader reader) =>
        reader.Read() ? RequestErrors.One("$", "Unexpected content after the JSON value.") : null;

    /// <summary>Reads one reading object; adds it to the batch when every field is good, else names each bad one.</summary>
    private static void ReadReading(ref Utf8JsonReader reader, int? index, SensorBatch batch, ref RequestErrors? errors)
    {
        var errorsBefore = errors?.Errors.Count ?? 0;
        float temperature = 0, pressure = 0, flow = 0;
        DateTimeOffset? timestamp = null;
        string? toolId = null, sensorId = null;
        var seen = Field.None;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("temperature"u8) ? Field.Temperature
                : reader.ValueTextEquals("pressure"u8) ? Field.Pressure
                : reader.ValueTextEquals("flow_rate"u8) ? Field.FlowRate
                : reader.ValueTextEquals("timestamp"u8) ? Field.Timestamp
                : reader.ValueTextEquals("tool_id"u8) ? Field.ToolId
                : reader.ValueTextEquals("sensor_id"u8) ? Field.SensorId
                : Field.None;
            reader.Read();
            if (field == Field.None)
            {
                // Unknown fields are ignored, as the seed's clients expect.
                reader.Skip();
                continue;
            }

            var name = Name(field);
            if ((seen & field) != 0)
            {
                // {"temperature":1,"temperature":400}: which one did the client mean?
                Add(ref errors, index, name, "appears more than once.");
                reader.Skip();
                continue;
            }

            seen |= field;
            switch (field)
            {
                case Field.Temperature:
                    ReadNumber(ref reader, index, name, ref temperature, ref errors);
                    break;
                case Field.Pressure:
                    ReadNumber(ref reader, index, name, ref pressure, ref errors);
                    break;
                case Field.FlowRate:
                    ReadNumber(ref reader, index, name, ref flow, ref errors);
                    break;
                case Field.Timestamp when reader.TokenType == JsonTokenType.Null:
                    break;
                case Field.Timestamp:
                    if (WireTime.TryRead(ref reader, out var time))
                    {
                        timestamp = time;
                    }
                    else
                    {
                        Add(ref errors, index, name, "must be an RFC 3339 date-time string, e.g. 2026-01-01T08:00:00Z.");
                        reader.Skip();
                    }

                    break;
                default:
                    var id = ReadId(ref reader, index, name, ref errors);
                    if (field == Field.ToolId)
                    {
                        toolId = id;
                    }
                    else
                    {
                        sensorId = id;
                    }

                    break;
            }
        }

        foreach (var required in (ReadOnlySpan<Field>)[Field.Temperature, Field.Pressure, Field.FlowRate])
        {
            if ((seen & required) == 0)
            {
                Add(ref errors, index, Name(required), "is required.");
            }
        }

        if ((errors?.Errors.Count ?? 0) == errorsBefore)
        {
            batch.Add(new SensorReading(toolId, sensorId, timestamp ?? batch.Received, temperature, pressure, flow));
        }
    }

    private static void ReadNumber(ref Utf8JsonReader reader, int? index, string field, ref float value, ref RequestErrors? errors)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            Add(ref errors, index, field, reader.TokenType == JsonTokenType.Null ? "must be a number, not null." : "must be a number.");
            reader.Skip();
            return;
        }

        // float.MaxValue as usually printed (3.4028235e38) rounds just above it as a double: compare as float.
        if (!reader.TryGetDouble(out var number) || !double.IsFinite(number) || !float.IsFinite((float)number))
        {
            Add(ref errors, index, field, "must be a finite number within the 32-bit float range.");
            return;
        }

        value = (float)number;
    }

    private static string? ReadId(ref Utf8JsonReader reader, int? index, string field, ref RequestErrors? errors)
    {
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
        {
            Add(ref errors, index, field, "must be a string.");
            reader.Skip();
            return null;
        }

        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            // Invalid UTF-8, or an escaped lone surrogate (\ud800): not text any store or stream can carry.
            Add(ref errors, index, field, "must be valid Unicode text.");
            return null;
        }
    }

    private static void Add(ref RequestErrors? errors, int? index, string field, string message) =>
        RequestErrors.Add(ref errors, index is null ? field : $"[{index}].{field}", $"{field} {message}");

    private static string Name(Field field) => field switch
    {
        Field.Temperature => "temperature",
        Field.Pressure => "pressure",
        Field.FlowRate => "flow_rate",
        Field.Timestamp => "timestamp",
        Field.ToolId => "tool_id",
        _ => "sensor_id",
    };

    [Flags]
    private enum Field
    {
        None = 0,
        Temperature = 1,
        Pressure = 2,
        FlowRate = 4,
        Timestamp = 8,
        ToolId = 16,
        SensorId = 32,
    }
}
