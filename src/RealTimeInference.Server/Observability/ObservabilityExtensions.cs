using System.Diagnostics.Metrics;
using Prometheus;
using RealTimeInference.Inference.Monitoring;
using Serilog;
using Serilog.Formatting.Compact;

namespace RealTimeInference.Server.Observability;

internal static class ObservabilityExtensions
{
    /// <summary>
    /// Histogram buckets for durations: fine below a millisecond, and an edge at each latency
    /// class target (emergency 0.1 s, process control 1 s, defect detection 5 s, yield 30 s).
    /// </summary>
    private static readonly double[] DurationBuckets = [.. InferenceMetrics.DurationBuckets];

    /// <summary>
    /// prometheus-net's own meter adapter starts only at the first scrape, losing what came before;
    /// this one listens from startup, once per process (test hosts share the static registry).
    /// </summary>
    private static readonly Lazy<IDisposable> MeterExport = new(() =>
    {
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressMeters = true });
        return MeterAdapter.StartListening(new MeterAdapterOptions
        {
            InstrumentFilterPredicate = instrument => !instrument.Meter.Name.StartsWith("System.Net", StringComparison.Ordinal),
            ResolveHistogramBuckets = Buckets,
        });
    });

    private static readonly double[] SizeBuckets = [.. InferenceMetrics.SizeBuckets.Select(b => (double)b)];

    /// <summary>Serilog JSON to the console, and .NET meters exported through prometheus-net.</summary>
    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        var logDrops = new LogDropMonitor();
        builder.Services.AddSingleton(logDrops);
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .Enrich.FromLogContext()
            // Async with a bounded buffer: a slow console never slows a request; drops are counted.
            .WriteTo.Async(sink => sink.Console(new RenderedCompactJsonFormatter()), bufferSize: 10_000, monitor: logDrops));

        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, MetricsJsonContext.Default));
        _ = MeterExport.Value;
        return builder;
    }

    private static double[] Buckets(Instrument instrument) =>
        instrument.Unit == "s" ? DurationBuckets
        : instrument.Meter.Name == InferenceMetrics.MeterName ? SizeBuckets
        : MeterAdapterOptions.DefaultHistogramBuckets;
}
