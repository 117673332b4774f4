using System.Globalization;
using Grpc.Core;
using RealTimeInference.Inference.Outcomes;

namespace RealTimeInference.Server.Transport;

/// <summary>The one outcome vocabulary in gRPC's terms, for the service's own refusals and for the middleware's (the rate limiter's) before it.</summary>
internal static class GrpcRefusal
{
    public static bool IsGrpc(HttpContext context) =>
        context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;

    public static StatusCode StatusOf(Outcome outcome) => outcome switch
    {
        Outcome.Invalid or Outcome.NotAWafer or Outcome.NoRoute => StatusCode.InvalidArgument,
        Outcome.TooLarge or Outcome.RateLimited => StatusCode.ResourceExhausted,
        Outcome.Cancelled => StatusCode.Cancelled,
        Outcome.TimedOut => StatusCode.DeadlineExceeded,
        Outcome.Failed => StatusCode.Internal,
        _ => StatusCode.Unavailable,
    };

    /// <summary>A trailers-only gRPC answer (HTTP 200, the status in the headers) for a call refused before its service ran; a retryable one carries <c>retry-after</c> in seconds.</summary>
    public static ValueTask WriteAsync(HttpContext context, Outcome outcome, string message, TimeSpan predictedWait, int leastRetryAfterSeconds)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)StatusOf(outcome)).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        if (outcome.IsRetryable())
        {
            response.Headers["retry-after"] = OutcomeVocabulary.RetryAfterSeconds(predictedWait, leastRetryAfterSeconds).ToString(CultureInfo.InvariantCulture);
        }

        return ValueTask.CompletedTask;
    }
}
