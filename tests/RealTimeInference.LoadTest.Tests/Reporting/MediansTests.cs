using RealTimeInference.LoadTest.Reporting;

namespace RealTimeInference.LoadTest.Tests.Reporting;

public sealed class MediansTests
{
    [Theory]
    [InlineData(new double[] { 5 }, 5)]
    [InlineData(new double[] { 3, 1, 2 }, 2)]
    [InlineData(new double[] { 4, 1, 3, 2 }, 2.5)]
    [InlineData(new double[] { 10, 1000, 11 }, 11)]
    [InlineData(new double[] { }, 0)]
    public void Median_IsTheMiddleValueOrTheMeanOfTheTwoMiddleOnes(double[] values, double expected) =>
        Assert.Equal(expected, Medians.Median(values));

    [Theory]
    [InlineData(3.0, 1.5, 2.0)]
    [InlineData(1.0, 3.0, 0.333)]
    public void Ratio_IsTargetOverBaseline(double target, double baseline, double expected) =>
        Assert.Equal(expected, Medians.Ratio(target, baseline));

    [Fact]
    public void Ratio_WithZeroBaseline_IsUndefined() => Assert.Null(Medians.Ratio(1, 0));

    [Fact]
    public void Summarize_TakesTheMedianOfEachFigureAcrossRepeats()
    {
        RunResult[] runs =
        [
            Run(p50: 1.0, p99: 9.0, ok: 1000, rssMax: 100),
            Run(p50: 3.0, p99: 5.0, ok: 3000, rssMax: 300),
            Run(p50: 2.0, p99: 50.0, ok: 2000, rssMax: 200),
        ];

        var median = Medians.Summarize(runs);

        Assert.Equal(3, median.Runs);
        Assert.Equal(2.0, median.P50Ms);
        Assert.Equal(9.0, median.P99Ms);
        Assert.Equal(200, median.AchievedRps);
        Assert.Equal(200 * 10, median.ReadingsPerSecond);
        Assert.Equal(200, median.RssMaxMb);
    }

    [Fact]
    public void Compare_DividesTargetMediansByBaselineMedians()
    {
        var target = Medians.Summarize([Run(p50: 4.0, p99: 12.0, ok: 1000, rssMax: 1)]);
        var baseline = Medians.Summarize([Run(p50: 1.0, p99: 4.0, ok: 4000, rssMax: 1)]);

        var ratio = Medians.Compare(target, baseline);

        Assert.Equal(4.0, ratio.P50);
        Assert.Equal(3.0, ratio.P99);
        Assert.Equal(0.25, ratio.AchievedRps);
    }

    private static RunResult Run(double p50, double p99, long ok, double rssMax)
    {
        var latency = new LatencySummary(ok, p50, p50, p99, p99, p99, p50);
        var counts = new StatusCounts(ok, 0, 0, 0, 0, 0, 0, 0);
        var measurement = new RunMeasurement(10, null, latency, null, counts, ok, 0, 0);
        return new RunResult("target", 1, "/predict-batch", 10, measurement, new RssSummary(1, rssMax, 1, 3));
    }
}
