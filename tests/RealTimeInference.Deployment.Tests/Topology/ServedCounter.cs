using System.Globalization;

namespace RealTimeInference.Deployment.Tests.Topology;

/// <summary>Reads a replica's own count of answered <c>/predict</c> requests from its <c>/metrics</c>.</summary>
internal static class ServedCounter
{
    public static async Task<double> PredictRequestsAsync(Uri replica)
    {
        using var client = new HttpClient { BaseAddress = replica };
        var text = await client.GetStringAsync("/metrics");
        return text.Split('\n')
            .Where(l => l.StartsWith("rti_prediction_duration_seconds_count{", StringComparison.Ordinal) && l.Contains("endpoint=\"/predict\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }
}
