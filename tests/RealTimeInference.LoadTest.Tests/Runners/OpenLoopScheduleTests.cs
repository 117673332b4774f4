using RealTimeInference.LoadTest.Runners;

namespace RealTimeInference.LoadTest.Tests.Runners;

public sealed class OpenLoopScheduleTests
{
    private const long Frequency = TimeSpan.TicksPerSecond;

    [Fact]
    public void SendTime_IsStartPlusIndexOverRate()
    {
        var schedule = new OpenLoopSchedule(Start: 5_000, Rate: 1000, Frequency);

        Assert.Equal(5_000, schedule.SendTime(0));
        Assert.Equal(5_000 + 10_000, schedule.SendTime(1));
        Assert.Equal(5_000 + (123 * 10_000), schedule.SendTime(123));
    }

    [Fact]
    public void SendTime_WithAnUnevenInterval_NeverDrifts()
    {
        var schedule = new OpenLoopSchedule(Start: 0, Rate: 300, Frequency);

        // 1/300 s is 33,333.33 ticks: each send rounds on its own, so 3 million sends land on exactly 10,000 s.
        Assert.Equal(33_333, schedule.SendTime(1));
        Assert.Equal(66_667, schedule.SendTime(2));
        Assert.Equal(100_000, schedule.SendTime(3));
        Assert.Equal(10_000 * Frequency, schedule.SendTime(3_000_000));
        for (long i = 1; i < 1000; i++)
        {
            Assert.InRange(schedule.SendTime(i) - schedule.SendTime(i - 1), 33_333, 33_334);
        }
    }

    [Theory]
    [InlineData(1000, 0, 0)]
    [InlineData(1000, 1, 1)]
    [InlineData(1000, 10_000, 1)]
    [InlineData(1000, 10_001, 2)]
    [InlineData(1000, 1_000_000, 100)]
    [InlineData(300, 10_000_000, 300)]
    [InlineData(0.5, 30_000_000, 2)]
    public void CountBefore_CountsSendsStrictlyBeforeTheEnd(double rate, long end, long expected)
    {
        var schedule = new OpenLoopSchedule(Start: 0, rate, Frequency);

        Assert.Equal(expected, schedule.CountBefore(end));
    }
}
