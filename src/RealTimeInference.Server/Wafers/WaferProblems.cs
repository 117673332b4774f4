using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Wafers;

/// <summary>How a failed wafer scoring reads on the wire: one mapping for HTTP problems and WebSocket errors.</summary>
internal static class WaferProblems
{
    /// <summary>The field-level error, or the status, title and detail of a scoring that did not complete.</summary>
    public static FieldError? Of(WaferScoring scoring, string model) => scoring switch
    {
        { Error: { } error } => error,
        { Result.IsOk: true } => null,
        { Result.Status: ScoreStatus.Rejected or ScoreStatus.Shed or ScoreStatus.Expired } => new FieldError(
            "$",
            $"Not computed ({InferenceMetrics.ReasonLabel(scoring.Result.Reason)}): the model is overloaded or the deadline cannot be met; retry after the interval in Retry-After.",
            StatusCodes.Status503ServiceUnavailable),
        { Result.Status: ScoreStatus.Stopped } => new FieldError(
            "$", $"Model '{model}' is not serving (not loaded, or the server is shutting down).", StatusCodes.Status503ServiceUnavailable),
        { Result.Status: ScoreStatus.Cancelled } => new FieldError("$", "The client closed the request.", 499),
        _ => new FieldError("$", scoring.Result.Error ?? "The model run failed.", StatusCodes.Status500InternalServerError),
    };

    public static string Outcome(FieldError error) => error.Status switch
    {
        StatusCodes.Status400BadRequest => "invalid",
        StatusCodes.Status413PayloadTooLarge => "too_large",
        StatusCodes.Status503ServiceUnavailable => "unavailable",
        499 => "cancelled",
        _ => "failed",
    };

    /// <summary>An RFC 9457 problem naming the field at fault in <c>errors</c>; 503 carries Retry-After.</summary>
    public static ProblemHttpResult Problem(HttpContext context, FieldError error, int retryAfterSeconds)
    {
        if (error.Status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        var title = error.Status switch
        {
            StatusCodes.Status400BadRequest when error.Field.StartsWith("X-", StringComparison.Ordinal) => "Invalid request header",
            StatusCodes.Status400BadRequest => "Invalid wafer image",
            StatusCodes.Status413PayloadTooLarge => "Image too large",
            StatusCodes.Status503ServiceUnavailable => "Model unavailable",
            499 => "Client closed request",
            _ => "Model run failed",
        };
        return TypedResults.Problem(
            error.Message,
            statusCode: error.Status,
            title: title,
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [error.Field] = [error.Message] } });
    }
}
