using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Inference.Outcomes;

namespace RealTimeInference.Server.Transport;

/// <summary>A WebSocket message that could not be answered; the socket stays open for the next one.</summary>
/// <param name="Error">The outcome's socket code: <c>invalid_message</c>, <c>message_too_large</c>, <c>timed_out</c>, <c>rate_limited</c>, <c>overloaded</c>, <c>model_unavailable</c>, <c>model_failed</c>, <c>cancelled</c>.</param>
/// <param name="Reason">Why work was not computed (<c>queue_full</c>, <c>shed_oldest</c>, <c>deadline_expired</c>, ...), as the HTTP 503's <c>reason</c>.</param>
/// <param name="Field">The field at fault (a JSON path, or the binary header field), when one is.</param>
/// <param name="Detail">What was wrong.</param>
/// <param name="Status">The HTTP status the same outcome gets.</param>
/// <param name="Timestamp">When the server answered.</param>
/// <param name="RetryAfterSeconds">For overload and rate limiting: when to send again, as HTTP's Retry-After.</param>
/// <param name="Errors">Every field at fault, when more than one was: each field's messages, as a validation problem's.</param>
internal sealed record SocketError(
    string Error,
    string? Reason,
    string? Field,
    string Detail,
    int Status,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp,
    int? RetryAfterSeconds = null,
    Dictionary<string, string[]>? Errors = null)
{
    /// <summary>The error for an outcome other than ok.</summary>
    public static SocketError For(Outcome outcome, string detail, DateTimeOffset now, string? field = null, int? retryAfterSeconds = null)
    {
        var info = outcome.Describe();
        return new SocketError(info.SocketError, info.IsDrop ? info.Label : null, field, detail, info.HttpStatus, now, outcome.IsRetryable() ? retryAfterSeconds : null);
    }

    /// <summary>The error for a message over the client's rate; it may be sent again after <paramref name="retryAfter"/>.</summary>
    public static SocketError RateLimited(TimeSpan retryAfter, DateTimeOffset now) =>
        For(Outcome.RateLimited, Outcome.RateLimited.Detail(), now, retryAfterSeconds: OutcomeVocabulary.RetryAfterSeconds(retryAfter, 1));

    /// <summary>The error for a message with fields at fault: <see cref="Field"/> names the first, <see cref="Errors"/> all of them.</summary>
    public static SocketError For(RequestErrors errors, DateTimeOffset now) =>
        For(errors.Outcome, errors.Detail, now, errors.Errors[0].Field) with { Errors = errors.Errors.Count > 1 ? errors.ByField() : null, Reason = errors.Reason };
}

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SocketError))]
internal sealed partial class TransportJsonContext : JsonSerializerContext;
