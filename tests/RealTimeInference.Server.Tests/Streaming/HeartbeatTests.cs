using System.Buffers;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.Server.Streaming;

namespace RealTimeInference.Server.Tests.Streaming;

public sealed class HeartbeatTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Stream_Idle_SendsAHeartbeatCommentEachIntervalAndNothingBefore()
    {
        var options = new StreamingOptions { HeartbeatInterval = TimeSpan.FromSeconds(15), CoalesceInterval = TimeSpan.Zero };
        var hub = new PredictionHub(Options.Create(options), new StreamMetrics(_services.GetRequiredService<IMeterFactory>()), _time);
        using var cancel = new CancellationTokenSource();
        var pipe = new Pipe();
        var writing = new PredictionStream(hub.TrySubscribe(default, lastEventId: null)!, options, _time).WriteAsync(pipe.Writer, cancel.Token);

        // The opening heartbeat: a comment, which EventSource and SSE parsers skip.
        Assert.Equal(": heartbeat\n\n", await ReadAsync(pipe.Reader));

        var next = ReadAsync(pipe.Reader);
        _time.Advance(TimeSpan.FromSeconds(14));
        Assert.False(next.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(": heartbeat\n\n", await next.WaitAsync(TimeSpan.FromSeconds(10)));

        next = ReadAsync(pipe.Reader);
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal(": heartbeat\n\n", await next.WaitAsync(TimeSpan.FromSeconds(10)));
        await cancel.CancelAsync();
        await writing.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task<string> ReadAsync(PipeReader reader)
    {
        var result = await reader.ReadAsync();
        var text = Encoding.UTF8.GetString(result.Buffer.ToArray());
        reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    public void Dispose() => _services.Dispose();
}
