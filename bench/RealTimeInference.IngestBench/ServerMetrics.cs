using System.Globalization;
using System.Text.RegularExpressions;

namespace RealTimeInference.IngestBench;

/// <summary>A histogram's change over the measured runs: observations, mean, and the bucket bound under which each quantile falls.</summary>
internal sealed record HistogramDelta(double Count, double Mean, string P50, string P90, string P99);

/// <summary>The server's Prometheus samples (<c>/metrics</c>) before and after the measured runs, and what changed.</summary>
internal static partial class ServerMetrics
{
    public static async Task<Dictionary<string, double>?> ScrapeAsync(HttpClient http, string? url, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(url))
        {
            return null;
        }

        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var text = await http.GetStringAsync(new Uri(url), cancellationToken).ConfigureAwait(false);
        foreach (var line in text.Split('\n'))
        {
            var space = line.LastIndexOf(' ');
            if (line.StartsWith('#') || space <= 0 || !double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            samples[line[..space]] = value;
        }

        return samples;
    }

    /// <summary>
    /// Waits until the server holds no message of <paramref name="transport"/> unacknowledged (its
    /// results are published before they are stored and the message acknowledged), at most
    /// <paramref name="timeout"/>; the seconds waited, or null without metrics.
    /// </summary>
    public static async Task<double?> SettleAsync(HttpClient http, string? url, string transport, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (await ScrapeAsync(http, url, cancellationToken).ConfigureAwait(false) is { } samples)
        {
            if (samples.GetValueOrDefault($"rti_ingest_in_flight_messages{{transport=\"{transport}\"}}") <= 0 || waited.Elapsed > timeout)
            {
                return waited.Elapsed.TotalSeconds;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>Samples whose value changed between the two scrapes (names starting with <c>rti_</c>).</summary>
    public static Dictionary<string, double> Delta(Dictionary<string, double> before, Dictionary<string, double> after) =>
        after.Where(s => s.Key.StartsWith("rti_", StringComparison.Ordinal))
            .Select(s => (s.Key, Value: s.Value - before.GetValueOrDefault(s.Key)))
            .Where(s => s.Value != 0)
            .ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);

    /// <summary>Histogram <paramref name="name"/>'s change, summed over its series that contain <paramref name="label"/>.</summary>
    public static HistogramDelta? Histogram(Dictionary<string, double> delta, string name, string label)
    {
        bool Mine(string key, string suffix) => key.StartsWith(name + suffix + "{", StringComparison.Ordinal) && key.Contains(label, StringComparison.Ordinal);
        var count = delta.Where(s => Mine(s.Key, "_count")).Sum(s => s.Value);
        if (count <= 0)
        {
            return null;
        }

        var sum = delta.Where(s => Mine(s.Key, "_sum")).Sum(s => s.Value);
        var buckets = delta.Where(s => Mine(s.Key, "_bucket"))
            .GroupBy(s => Bound().Match(s.Key).Groups[1].Value)
            .Select(g => (Le: g.Key, Bound: g.Key == "+Inf" ? double.PositiveInfinity : double.Parse(g.Key, CultureInfo.InvariantCulture), Cumulative: g.Sum(s => s.Value)))
            .OrderBy(b => b.Bound)
            .ToList();
        string Quantile(double q) => buckets.FirstOrDefault(b => b.Cumulative >= q * count).Le ?? "?";
        return new HistogramDelta(count, sum / count, "<=" + Quantile(0.5), "<=" + Quantile(0.9), "<=" + Quantile(0.99));
    }

    [GeneratedRegex("le=\"([^\"]+)\"")]
    private static partial Regex Bound();
}
