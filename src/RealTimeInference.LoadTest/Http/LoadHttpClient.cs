using System.Net;

namespace RealTimeInference.LoadTest.Http;

internal static class LoadHttpClient
{
    /// <summary>
    /// One pool per run: HTTP/1.1 only, no proxy, connections that live as long as the run, and no
    /// client timeout (each request carries its own, see <see cref="RequestSender"/>).
    /// </summary>
    public static HttpClient Create(int maxConnections)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        return new HttpClient(handler, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }
}
