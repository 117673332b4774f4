namespace RealTimeInference.LoadTest.Reporting;

/// <summary>Each figure is the median of that figure across the repeats (not a latency of a merged histogram).</summary>
internal sealed record MedianSummary(
    int Runs,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    double MeanMs,
    double AchievedRps,
    double ReadingsPerSecond,
    double? RssMaxMb);

/// <summary>Target median divided by baseline median; null where the baseline figure is zero.</summary>
internal sealed record RatioSummary(
    double? P50,
    double? P90,
    double? P99,
    double? P999,
    double? Max,
    double? Mean,
    double? AchievedRps);

internal static class Medians
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }

        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    public static double? Ratio(double target, double baseline) =>
        baseline > 0 && double.IsFinite(target) ? Math.Round(target / baseline, 3) : null;

    public static MedianSummary Summarize(IReadOnlyList<RunResult> runs)
    {
        double Of(Func<RunResult, double> figure) => Median(runs.Select(figure));
        var rss = runs.Where(r => r.ServerRss is not null).Select(r => r.ServerRss!.MaxMb).ToArray();
        return new MedianSummary(
            runs.Count,
            Of(r => r.Measurement.Latency.P50Ms),
            Of(r => r.Measurement.Latency.P90Ms),
            Of(r => r.Measurement.Latency.P99Ms),
            Of(r => r.Measurement.Latency.P999Ms),
            Of(r => r.Measurement.Latency.MaxMs),
            Of(r => r.Measurement.Latency.MeanMs),
            Math.Round(Of(r => r.Measurement.AchievedRps), 1),
            Math.Round(Of(r => r.ReadingsPerSecond), 1),
            rss.Length > 0 ? Median(rss) : null);
    }

    public static RatioSummary Compare(MedianSummary target, MedianSummary baseline) => new(
        Ratio(target.P50Ms, baseline.P50Ms),
        Ratio(target.P90Ms, baseline.P90Ms),
        Ratio(target.P99Ms, baseline.P99Ms),
        Ratio(target.P999Ms, baseline.P999Ms),
        Ratio(target.MaxMs, baseline.MaxMs),
        Ratio(target.MeanMs, baseline.MeanMs),
        Ratio(target.AchievedRps, baseline.AchievedRps));
}
