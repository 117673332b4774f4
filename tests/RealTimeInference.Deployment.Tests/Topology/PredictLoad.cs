using System.Collections.Concurrent;
using System.Net.Http.Json;

namespace RealTimeInference.Deployment.Tests.Topology;

/// <summary>Closed-loop <c>POST /predict</c> load: <c>loops</c> clients, each sending its next reading when the last is answered.</summary>
internal sealed class PredictLoad : IAsyncDisposable
{
    public static readonly object Reading = new { temperature = 350.2, pressure = 1012.5, flow_rate = 99.8 };

    private readonly HttpClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private long _succeeded;

    public PredictLoad(Uri target, int loops)
    {
        _client = new HttpClient { BaseAddress = target, Timeout = TimeSpan.FromSeconds(30) };
        _loops = [.. Enumerable.Range(0, loops).Select(_ => Task.Run(LoopAsync))];
    }

    public long Succeeded => Interlocked.Read(ref _succeeded);

    /// <summary>Every request that did not get a 200: its status or exception.</summary>
    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Waits until <paramref name="more"/> more requests have succeeded than now (failing if that takes too long).</summary>
    public async Task WaitForMoreAsync(long more)
    {
        var target = Succeeded + more;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (Succeeded < target)
        {
            Assert.False(timeout.IsCancellationRequested, $"Only {Succeeded} of {target} requests succeeded in 30 s; failures: {string.Join("; ", Failures.Take(5))}");
            await Task.Delay(20);
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var response = await _client.PostAsJsonAsync("/predict", Reading, _stop.Token);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _succeeded);
                }
                else
                {
                    Failures.Enqueue($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Failures.Enqueue(e.GetType().Name + ": " + e.Message);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        _stop.Dispose();
        _client.Dispose();
    }
}
