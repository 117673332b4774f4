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
    private static readonly double[] DurationBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

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

    private static readonly double[] SizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

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
        _ = MeterExport.Value;
        return builder;
    }

    private static double[] Buckets(Instrument instrument) =>
        instrument.Unit == "s" ? DurationBuckets
        : instrument.Meter.Name == InferenceMetrics.MeterName ? SizeBuckets
        : MeterAdapterOptions.DefaultHistogramBuckets;
}
