namespace RealTimeInference.LoadTest.Http;

/// <summary>How a source's bodies travel.</summary>
internal enum Transport
{
    Http,
    WebSocketText,
    WebSocketBinary,
}

/// <summary>
/// An endpoint and the pre-serialized bodies cycled through it; safe to share between workers.
/// With <paramref name="timings"/>, each 2xx answer's server-side breakdown is recorded there.
/// </summary>
internal sealed class RequestSource(
    Uri uri,
    IReadOnlyList<byte[]> bodies,
    int readingsPerRequest,
    string contentType = RequestSource.Json,
    ServerTimings? timings = null,
    Transport transport = Transport.Http,
    int subscribers = 0)
{
    public const string Json = "application/json";

    private int _next = -1;

    public Uri Uri => uri;

    public int ReadingsPerRequest => readingsPerRequest;

    public string ContentType => contentType;

    public ServerTimings? Timings => timings;

    public Transport Transport => transport;

    /// <summary>SSE subscribers kept open on the server while this source runs.</summary>
    public int Subscribers => subscribers;

    public byte[] NextBody()
    {
        var index = (uint)Interlocked.Increment(ref _next) % (uint)bodies.Count;
        return bodies[(int)index];
    }
}
