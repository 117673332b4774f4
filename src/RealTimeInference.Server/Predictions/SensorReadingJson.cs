using System.Buffers;
using System.Text.Json;
using RealTimeInference.Fab.Sensors;

namespace RealTimeInference.Server.Predictions;

/// <summary>Where a request body went wrong: the field at fault (a JSON path) and why.</summary>
internal readonly record struct FieldError(string Field, string Message, int Status = StatusCodes.Status400BadRequest);

/// <summary>
/// Reads sensor readings straight from the request bytes into feature rows, so every bad input
/// gets an answer naming its field and a good one costs no intermediate objects.
/// </summary>
internal static class SensorReadingJson
{
    /// <summary>The smallest possible reading, <c>{"temperature":0,"pressure":0,"flow_rate":0}</c>, bounds rows per byte.</summary>
    public const int MinReadingBytes = 44;

    private const int MaxDepth = 4;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    /// <summary>Parses one reading object into <paramref name="features"/>.</summary>
    public static FieldError? ParseOne(in ReadOnlySequence<byte> body, Span<float> features, out ReadingLabels labels)
    {
        labels = default;
        if (body.IsEmpty)
        {
            return new FieldError("$", "The request body is empty; send a JSON object.");
        }

        var reader = new Utf8JsonReader(body, ReaderOptions);
        try
        {
            reader.Read();

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return new FieldError("$", reader.TokenType == JsonTokenType.StartArray
                    ? "Expected a JSON object; send arrays of readings to /predict-batch."
                    : "Expected a JSON object.");
            }

            return ReadReading(ref reader, null, features, out labels) ?? ExpectEnd(ref reader);
        }
        catch (JsonException ex)
        {
            return new FieldError("$", $"Malformed JSON: {ex.Message}");
        }
    }

    /// <summary>
    /// Parses a JSON array of at most <paramref name="maxReadings"/> readings into consecutive rows
    /// of <paramref name="features"/>; <paramref name="count"/> is set on success.
    /// </summary>
    public static FieldError? ParseMany(in ReadOnlySequence<byte> body, Span<float> features, int maxReadings, out int count)
    {
        count = 0;
        if (body.IsEmpty)
        {
            return new FieldError("$", "The request body is empty; send a JSON array of readings.");
        }

        var reader = new Utf8JsonReader(body, ReaderOptions);
        try
        {
            reader.Read();

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return new FieldError("$", "Expected a JSON array of readings.");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (count == maxReadings || (count + 1) * SensorFeatures.Count > features.Length)
                {
                    return new FieldError("$", $"A batch holds at most {maxReadings} readings.", StatusCodes.Status413PayloadTooLarge);
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return new FieldError($"[{count}]", "Each reading must be a JSON object.");
                }

                var error = ReadReading(ref reader, count, features.Slice(count * SensorFeatures.Count, SensorFeatures.Count), out _);
                if (error is not null)
                {
                    return error;
                }

                count++;
            }

            return count == 0 ? new FieldError("$", "The batch is empty; send at least one reading.") : ExpectEnd(ref reader);
        }
        catch (JsonException ex)
        {
            return new FieldError("$", $"Malformed JSON: {ex.Message}");
        }
    }

    /// <summary>Reading past the value makes the reader reject anything that follows it.</summary>
    private static FieldError? ExpectEnd(ref Utf8JsonReader reader) =>
        reader.Read() ? new FieldError("$", "Unexpected content after the JSON value.") : null;

    private static FieldError? ReadReading(ref Utf8JsonReader reader, int? index, Span<float> features, out ReadingLabels labels)
    {
        labels = default;
        float temperature = 0, pressure = 0, flow = 0;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("temperature"u8))
            {
                if (ReadNumber(ref reader, index, "temperature", out temperature) is { } error)
                {
                    return error;
                }

                seen |= 1;
            }
            else if (reader.ValueTextEquals("pressure"u8))
            {
                if (ReadNumber(ref reader, index, "pressure", out pressure) is { } error)
                {
                    return error;
                }

                seen |= 2;
            }
            else if (reader.ValueTextEquals("flow_rate"u8))
            {
                if (ReadNumber(ref reader, index, "flow_rate", out flow) is { } error)
                {
                    return error;
                }

                seen |= 4;
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.String || !reader.TryGetDateTimeOffset(out _))
                {
                    return Error(index, "timestamp", "must be an ISO 8601 date-time string, e.g. 2026-01-01T08:00:00Z.");
                }

                // Only a single reading echoes its timestamp; a batch just validates it.
                labels = labels with { Timestamp = index is null ? reader.GetString() : null };
            }
            else if (reader.ValueTextEquals("tool_id"u8) || reader.ValueTextEquals("sensor_id"u8))
            {
                var name = reader.ValueTextEquals("tool_id"u8) ? "tool_id" : "sensor_id";
                reader.Read();
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                {
                    return Error(index, name, "must be a string.");
                }

                // Kept for single readings, so the prediction stream can be filtered by them.
                if (index is null)
                {
                    labels = name == "tool_id" ? labels with { ToolId = reader.GetString() } : labels with { SensorId = reader.GetString() };
                }
            }
            else
            {
                // Unknown fields are ignored, as the seed's clients expect.
                reader.Read();
                reader.Skip();
            }
        }

        if (seen != 7)
        {
            var missing = (seen & 1) == 0 ? "temperature" : (seen & 2) == 0 ? "pressure" : "flow_rate";
            return Error(index, missing, "is required.");
        }

        SensorFeatures.Write(temperature, pressure, flow, features);
        return null;
    }

    private static FieldError? ReadNumber(ref Utf8JsonReader reader, int? index, string field, out float value)
    {
        value = 0;
        reader.Read();
        if (reader.TokenType != JsonTokenType.Number)
        {
            return Error(index, field, reader.TokenType == JsonTokenType.Null ? "must be a number, not null." : "must be a number.");
        }

        if (!reader.TryGetDouble(out var number) || !double.IsFinite(number) || Math.Abs(number) > float.MaxValue)
        {
            return Error(index, field, "must be a finite number within the 32-bit float range.");
        }

        value = (float)number;
        return null;
    }

    private static FieldError Error(int? index, string field, string message) =>
        new(index is null ? field : $"[{index}].{field}", $"{field} {message}");
}
