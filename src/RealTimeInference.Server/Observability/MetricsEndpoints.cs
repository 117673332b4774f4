using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Observability;

/// <param name="P50Ms">Median request latency, ms.</param>
/// <param name="P95Ms">95th percentile latency, ms.</param>
/// <param name="P99Ms">99th percentile latency, ms.</param>
/// <param name="AvgMs">Mean latency, ms.</param>
/// <param name="MaxMs">Largest latency in the window, ms.</param>
internal sealed record LatencySummary(double P50Ms, double P95Ms, double P99Ms, double AvgMs, double MaxMs);

/// <summary>The seed's /metrics JSON, over the monitor's sliding window of prediction requests.</summary>
/// <param name="Latency">Latency percentiles of prediction requests.</param>
/// <param name="ThroughputRps">Prediction requests per second.</param>
/// <param name="ErrorRate">Share of prediction requests the server failed (5xx).</param>
/// <param name="Timestamp">When this snapshot was taken; RFC 3339 UTC.</param>
/// <param name="WindowSeconds">Length of the sliding window.</param>
/// <param name="Requests">Prediction requests in the window.</param>
internal sealed record MetricsSummary(
    LatencySummary Latency,
    double ThroughputRps,
    double ErrorRate,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp,
    double WindowSeconds,
    long Requests);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(MetricsSummary))]
internal sealed partial class MetricsJsonContext : JsonSerializerContext;

internal static class MetricsEndpoints
{
    public static IEndpointRouteBuilder MapMetricsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", GetMetrics)
            .WithTags("Observability")
            .WithName("Metrics")
            .WithSummary("Prometheus metrics, or the latency/throughput summary as JSON")
            .WithDescription("Prometheus text exposition by default; send `Accept: application/json` for the seed's JSON summary over the sliding window.")
            .Produces<MetricsSummary>(StatusCodes.Status200OK, "application/json")
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .WithRole(app.ServiceProvider, Roles.Viewer, protect: app.ServiceProvider.GetRequiredService<IOptions<SecurityOptions>>().Value.ProtectMetrics);
        return app;
    }

    private static Results<Ok<MetricsSummary>, ContentHttpResult> GetMetrics(
        HttpContext context, RequestMonitor monitor, MetricsExporter exporter, TimeProvider time)
    {
        if (PrefersJson(context.Request))
        {
            var s = monitor.Snapshot();
            return TypedResults.Ok(new MetricsSummary(
                new LatencySummary(s.P50Ms, s.P95Ms, s.P99Ms, s.AvgMs, s.MaxMs),
                s.ThroughputRps,
                s.ErrorRate,
                time.GetUtcNow(),
                monitor.Window.TotalSeconds,
                s.Requests));
        }

        return TypedResults.Text(exporter.Collect(), "text/plain; version=0.0.4; charset=utf-8");
    }

    /// <summary>JSON only when it is asked for and ranked above plain text; Prometheus gets text.</summary>
    private static bool PrefersJson(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted))
        {
            return false;
        }

        double json = -1, text = -1;
        foreach (var type in accepted)
        {
            var quality = type.Quality ?? 1;
            if (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                json = Math.Max(json, quality);
            }
            else if (type.MediaType.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
                || type.MediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
            {
                text = Math.Max(text, quality);
            }
        }

        return json > 0 && json > text;
    }
}
