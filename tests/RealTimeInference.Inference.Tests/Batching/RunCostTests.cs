using RealTimeInference.Inference.Batching;

namespace RealTimeInference.Inference.Tests.Batching;

public sealed class RunCostTests
{
    [Fact]
    public void Predict_IsUnknownUntilEnoughRuns_ThenRowsTimesTheRecentTimePerRow()
    {
        var cost = new RunCost();
        for (var i = 1; i < RunCost.RunsBeforePredicting; i++)
        {
            cost.Observe(rows: 100, TimeSpan.FromMilliseconds(10));
            Assert.False(cost.IsKnown);
        }

        cost.Observe(rows: 100, TimeSpan.FromMilliseconds(10));

        Assert.True(cost.IsKnown);
        Assert.Equal(1.0, cost.Predict(10_000).TotalSeconds, precision: 9);
    }

    [Fact]
    public void Observe_OneSlowSmallRun_MovesTheEstimateLittle()
    {
        var cost = new RunCost();
        for (var i = 0; i < RunCost.RunsBeforePredicting; i++)
        {
            cost.Observe(rows: 100, TimeSpan.FromMilliseconds(10));
        }

        // A 50 ms GC pause on a one-row run would read as 50 ms a row if taken alone.
        cost.Observe(rows: 1, TimeSpan.FromMilliseconds(50));

        Assert.InRange(cost.Predict(100).TotalMilliseconds, 10, 20);
    }
}
