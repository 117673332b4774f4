using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RealTimeInference.Results.Tests.Notifications;

/// <summary>A real HTTP receiver on a loopback port: answers 503 while <see cref="IsDown"/> says so, else records each request and answers 200.</summary>
internal sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly SemaphoreSlim _received = new(0);
    private readonly Task _loop;

    public WebhookReceiver()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = new Uri($"http://127.0.0.1:{port}/hook/");
        _listener.Prefixes.Add(Url.ToString());
        _listener.Start();
        _loop = ServeAsync();
    }

    public Uri Url { get; }

    public Func<bool> IsDown { get; set; } = () => false;

    public ConcurrentQueue<(string Body, string? Signature, string? Id)> Taken { get; } = new();

    public int Refused;

    public async Task WaitForAsync(int count)
    {
        while (Taken.Count < count)
        {
            Assert.True(await _received.WaitAsync(TimeSpan.FromSeconds(10)), $"The receiver took {Taken.Count} of {count} notifications.");
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            if (IsDown())
            {
                Interlocked.Increment(ref Refused);
                context.Response.StatusCode = 503;
            }
            else
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                Taken.Enqueue((await reader.ReadToEndAsync(), context.Request.Headers["X-RTI-Signature"], context.Request.Headers["X-RTI-Notification-Id"]));
                _received.Release();
            }

            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
