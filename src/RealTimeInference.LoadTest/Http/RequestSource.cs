namespace RealTimeInference.LoadTest.Http;

/// <summary>An endpoint and the pre-serialized bodies cycled through it; safe to share between workers.</summary>
internal sealed class RequestSource(Uri uri, IReadOnlyList<byte[]> bodies, int readingsPerRequest)
{
    private int _next = -1;

    public Uri Uri => uri;

    public int ReadingsPerRequest => readingsPerRequest;

    public byte[] NextBody()
    {
        var index = (uint)Interlocked.Increment(ref _next) % (uint)bodies.Count;
        return bodies[(int)index];
    }
}
