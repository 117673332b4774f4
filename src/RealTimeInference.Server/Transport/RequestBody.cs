using System.Buffers;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using RealTimeInference.Inference.Outcomes;

namespace RealTimeInference.Server.Transport;

/// <summary>
/// Reads a whole body under the endpoint's size limit, declared once as endpoint metadata
/// (<see cref="WithBodyLimit{TBuilder}"/>): routing hands it to Kestrel, which refuses larger
/// bodies itself; the same limit is checked here for hosts that do not enforce it. (A wrong
/// Content-Type never gets here: the endpoints' Accepts metadata makes routing answer 415.)
/// </summary>
internal static class RequestBody
{
    public delegate RequestErrors? Parser(in ReadOnlySequence<byte> body);

    /// <summary>Sets the endpoint's body limit: larger bodies get 413.</summary>
    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder builder, long maxBytes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestSizeLimitAttribute(maxBytes));

    /// <summary>The problems every scoring endpoint may answer, for the OpenAPI document.</summary>
    public static RouteHandlerBuilder WithErrorResponses(this RouteHandlerBuilder endpoint) => endpoint
        .ProducesValidationProblem()
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
        .ProducesProblem(StatusCodes.Status429TooManyRequests)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    /// <summary>The body limit of the endpoint handling <paramref name="context"/>.</summary>
    public static long Limit(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize
        ?? throw new InvalidOperationException($"Endpoint {context.GetEndpoint()?.DisplayName} declares no body limit.");

    /// <summary>Reads the body under the endpoint's limit and parses it; an oversized or unreadable body is an error.</summary>
    public static async ValueTask<RequestErrors?> ParseAsync(HttpContext context, Parser parse)
    {
        var maxBytes = Limit(context);
        if (context.Request.ContentLength > maxBytes)
        {
            return TooLarge(context, maxBytes);
        }

        var reader = context.Request.BodyReader;
        ReadOnlySequence<byte> body;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted);
                if (result.Buffer.Length > maxBytes)
                {
                    reader.AdvanceTo(result.Buffer.End);
                    return TooLarge(context, maxBytes);
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    body = result.Buffer;
                    break;
                }

                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }
        catch (Exception ex) when (ReadFailure(context, ex, maxBytes, "The request body could not be read") is { } error)
        {
            return error;
        }

        try
        {
            return parse(body);
        }
        finally
        {
            reader.AdvanceTo(body.End);
        }
    }

    /// <summary>
    /// What a body that failed while being read is answered: cancelled when the client went away
    /// (nobody to answer), 413 past the limit, 408 slower than Server:Limits:MinRequestBodyBytesPerSecond,
    /// 400 <paramref name="malformed"/> for the client's other faults (a malformed chunked body —
    /// Kestrel throws IOException for a chunk size past 2^31 — one shorter than its Content-Length,
    /// bad multipart boundaries); null for an exception that is not about the body.
    /// </summary>
    public static RequestErrors? ReadFailure(HttpContext context, Exception ex, long maxBytes, string malformed)
    {
        if (context.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException or BadHttpRequestException)
        {
            return RequestErrors.One("$", Outcome.Cancelled.Detail(), Outcome.Cancelled);
        }

        return ex switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TooLarge(context, maxBytes),
            BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } =>
                RequestErrors.One("$", $"The request body arrived too slowly: {ex.Message}", Outcome.TimedOut),
            BadHttpRequestException or IOException or InvalidDataException => RequestErrors.One("$", $"{malformed}: {ex.Message}"),
            _ => null,
        };
    }

    /// <summary>413 for a body past the endpoint's limit; the rest of it stays unread, so the connection closes after the answer (<see cref="CloseAfterAnswer"/>).</summary>
    public static RequestErrors TooLarge(HttpContext context, long maxBytes)
    {
        CloseAfterAnswer(context);
        return RequestErrors.TooLarge("$", $"The request body exceeds the {maxBytes}-byte limit of {context.Request.Path}.");
    }

    /// <summary>
    /// A body left unread past the endpoint's limit cannot be drained (Kestrel would close the
    /// connection after the answer, unannounced, and fail the client's next request on it): over
    /// HTTP/1.x the answer says <c>Connection: close</c>. HTTP/2 resets only the stream.
    /// </summary>
    public static void CloseAfterAnswer(HttpContext context)
    {
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            context.Response.Headers.Connection = "close";
        }
    }
}
