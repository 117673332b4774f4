using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using RealTimeInference.Inference.Outcomes;

namespace RealTimeInference.Server.Transport;

/// <summary>RFC 9457 problems for every outcome, from the one vocabulary (<see cref="OutcomeVocabulary"/>).</summary>
internal static class Problems
{
    /// <summary>
    /// The problem for <paramref name="outcome"/>: its status and title; work not computed names its
    /// <c>reason</c>; every 503 and 429 carries Retry-After from <paramref name="predictedWait"/>, at least
    /// <paramref name="leastRetryAfterSeconds"/>.
    /// </summary>
    public static ProblemHttpResult For(
        HttpContext context, Outcome outcome, TimeSpan predictedWait, int leastRetryAfterSeconds, string? model = null, string? error = null)
    {
        var info = outcome.Describe();
        if (outcome.IsRetryable())
        {
            SetRetryAfter(context, predictedWait, leastRetryAfterSeconds);
        }

        return TypedResults.Problem(
            outcome.Detail(model, error),
            statusCode: info.HttpStatus,
            title: info.Title,
            extensions: info.IsDrop ? new Dictionary<string, object?> { ["reason"] = info.Label } : null);
    }

    /// <summary>
    /// A 400 (or 413) naming every field at fault in <c>errors</c>, as validation problems do;
    /// <paramref name="title"/> says what was invalid unless only headers were.
    /// </summary>
    public static ProblemHttpResult Invalid(RequestErrors errors, string title) =>
        TypedResults.Problem(
            errors.Detail,
            statusCode: errors.Outcome.Describe().HttpStatus,
            title: errors.Outcome != Outcome.Invalid ? errors.Outcome.Describe().Title
                : errors.Errors.All(e => e.Field.StartsWith("X-", StringComparison.Ordinal)) ? "Invalid request header"
                : title,
            extensions: errors.Reason is { } reason
                ? new Dictionary<string, object?> { ["errors"] = errors.ByField(), ["reason"] = reason }
                : new Dictionary<string, object?> { ["errors"] = errors.ByField() });

    /// <summary>503 for a connection limit (sockets, subscribers): nothing was computed, so the least wait applies.</summary>
    public static ProblemHttpResult TooManyConnections(HttpContext context, int retryAfterSeconds, string detail)
    {
        SetRetryAfter(context, TimeSpan.Zero, retryAfterSeconds);
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many connections");
    }

    private static void SetRetryAfter(HttpContext context, TimeSpan predictedWait, int leastSeconds) =>
        context.Response.Headers.RetryAfter = OutcomeVocabulary.RetryAfterSeconds(predictedWait, leastSeconds).ToString(CultureInfo.InvariantCulture);
}
