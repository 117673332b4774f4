using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RealTimeInference.Server.Transport;

/// <summary>
/// The one timestamp format on the wire: RFC 3339 in UTC with a <c>Z</c>, fractional seconds only
/// when there are any (<c>2026-11-26T10:00:00Z</c>, <c>2026-11-26T10:00:00.1234567Z</c>).
/// </summary>
internal static class WireTime
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

    /// <summary>
    /// Reads an ISO 8601 / RFC 3339 date-time; one without an offset (the tutorial's
    /// <c>2026-11-26T10:00:00</c>) is taken as UTC, never as the server's local time.
    /// </summary>
    public static bool TryRead(ref Utf8JsonReader reader, out DateTimeOffset time)
    {
        time = default;
        if (reader.TokenType != JsonTokenType.String || !reader.TryGetDateTime(out var parsed))
        {
            return false;
        }

        time = parsed.Kind switch
        {
            DateTimeKind.Unspecified => new DateTimeOffset(DateTime.SpecifyKind(parsed, DateTimeKind.Utc)),
            _ => new DateTimeOffset(parsed.ToUniversalTime()),
        };
        return true;
    }
}

/// <summary>Writes a <see cref="DateTimeOffset"/> as <see cref="WireTime"/> does, without allocating.</summary>
internal sealed class WireTimeConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        WireTime.TryRead(ref reader, out var time) ? time : throw new JsonException("Expected an RFC 3339 date-time.");

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        // 28 characters at most: 2026-11-26T10:00:00.1234567Z.
        Span<char> text = stackalloc char[32];
        value.UtcDateTime.TryFormat(text, out var written, WireTime.Format, CultureInfo.InvariantCulture);
        writer.WriteStringValue(text[..written]);
    }
}
