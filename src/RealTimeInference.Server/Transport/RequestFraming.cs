namespace RealTimeInference.Server.Transport;

/// <summary>
/// Refuses a request that declares its body's length twice, with Content-Length and
/// Transfer-Encoding: Kestrel reads the chunks, but a proxy in front that trusts Content-Length
/// would see another request in the same bytes (request smuggling). Kestrel keeps the request
/// and moves its Content-Length to X-Content-Length; it is refused here, before any endpoint (a
/// chunked request that sends an X-Content-Length of its own cannot be told apart and is refused too).
/// </summary>
internal static class RequestFraming
{
    public static IApplicationBuilder UseRequestFraming(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var headers = context.Request.Headers;
        if (headers.TransferEncoding.Count == 0 || (headers.ContentLength is null && !headers.ContainsKey("X-Content-Length")))
        {
            return next(context);
        }

        // The connection's remaining bytes cannot be trusted either.
        context.Response.Headers.Connection = "close";
        return Problems.Invalid(
                RequestErrors.One("Transfer-Encoding", "Send Content-Length or Transfer-Encoding, not both."),
                "Conflicting body length")
            .ExecuteAsync(context);
    });
}
