using Microsoft.Extensions.Time.Testing;

namespace RealTimeInference.Inference.Tests.Batching;

/// <summary>A fake clock that tells when a timer was created, so a test moves time only once the code under test waits on it.</summary>
internal sealed class TimerSignallingTimeProvider : FakeTimeProvider
{
    private readonly SemaphoreSlim _created = new(0);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _created.Release();
        return timer;
    }

    public async Task WaitForTimerAsync() => Assert.True(await _created.WaitAsync(TimeSpan.FromSeconds(10)), "No timer was created.");
}
