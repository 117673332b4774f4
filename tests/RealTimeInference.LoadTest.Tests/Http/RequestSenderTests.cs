using System.Net;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.LoadTest.Http;

namespace RealTimeInference.LoadTest.Tests.Http;

public sealed class RequestSenderTests
{
    private static readonly Uri Target = new("http://server/predict");

    [Theory]
    [InlineData(HttpStatusCode.OK)]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.InternalServerError)]
    public async Task SendAsync_WithAnyHttpAnswer_ReturnsItsStatus(HttpStatusCode status)
    {
        var sender = Sender(new FakeHandler((_, _) => Task.FromResult(new HttpResponseMessage(status))), new FakeTimeProvider());

        var outcome = await sender.SendAsync(Target, [1]);

        Assert.Equal(new RequestOutcome(OutcomeKind.Response, (int)status), outcome);
    }

    [Fact]
    public async Task SendAsync_PostsTheBodyAsJsonAndReadsTheWholeResponse()
    {
        var body = "{\"temperature\":350.1}"u8.ToArray();
        var response = new TrackingStream(new byte[100_000]);
        HttpRequestMessage? seen = null;
        byte[]? sentBody = null;
        var handler = new FakeHandler(async (request, _) =>
        {
            seen = request;
            sentBody = await request.Content!.ReadAsByteArrayAsync().ConfigureAwait(false);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(response) };
        });

        await Sender(handler, new FakeTimeProvider()).SendAsync(Target, body);

        Assert.Equal(HttpMethod.Post, seen!.Method);
        Assert.Equal("application/json", seen.Content!.Headers.ContentType!.MediaType);
        Assert.Equal(body, sentBody);
        Assert.True(response.ReadToEnd);
    }

    [Fact]
    public async Task SendAsync_WhenTheConnectionFails_ReturnsTransportError()
    {
        var sender = Sender(new FakeHandler((_, _) => throw new HttpRequestException("connection refused")), new FakeTimeProvider());

        Assert.Equal(RequestOutcome.Failed, await sender.SendAsync(Target, [1]));
    }

    [Fact]
    public async Task SendAsync_WhenNoAnswerWithinTheTimeout_ReturnsTimeout()
    {
        var time = new FakeTimeProvider();
        var handler = new FakeHandler(async (_, token) =>
        {
            await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        var sending = Sender(handler, time, TimeSpan.FromSeconds(2)).SendAsync(Target, [1]);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(sending.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(RequestOutcome.TimedOut, await sending.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private static RequestSender Sender(HttpMessageHandler handler, TimeProvider time, TimeSpan? timeout = null) =>
        new(new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan }, timeout ?? TimeSpan.FromSeconds(30), time);

    private sealed class TrackingStream(byte[] data) : MemoryStream(data)
    {
        public bool ReadToEnd { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Track(base.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Track(base.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Track(await base.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Track(await base.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        private int Track(int read)
        {
            ReadToEnd |= read == 0;
            return read;
        }
    }
}
