namespace RealTimeInference.Server.Transport;

/// <summary>
/// Who a client is, for its rate limit and its fair share of the queues: the API key it
/// authenticated with, else the address it connects from — never a header it may choose freely.
/// </summary>
internal static class ClientIdentity
{
    public static string Of(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : "ip:" + context.Connection.RemoteIpAddress;
}
