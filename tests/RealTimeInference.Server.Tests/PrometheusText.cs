using System.Globalization;
using System.Text.RegularExpressions;

namespace RealTimeInference.Server.Tests;

/// <summary>Reads the server's Prometheus text.</summary>
internal static partial class PrometheusText
{
    /// <summary>The value of the series of <paramref name="metric"/> with these labels (in any order), 0 when it does not exist yet.</summary>
    public static async Task<double> ReadAsync(HttpClient client, string metric, params (string Name, string Value)[] labels)
    {
        var text = await client.GetStringAsync("/metrics");
        foreach (Match match in SeriesLine().Matches(text))
        {
            if (match.Groups["name"].Value == metric
                && labels.All(l => match.Groups["labels"].Value.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();
}
