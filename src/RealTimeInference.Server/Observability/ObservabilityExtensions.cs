using Serilog;
using Serilog.Formatting.Compact;

namespace RealTimeInference.Server.Observability;

internal static class ObservabilityExtensions
{
    /// <summary>Serilog JSON to the console; the server's meters exported to Prometheus at <c>/metrics</c>.</summary>
    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        var logDrops = new LogDropMonitor();
        builder.Services.AddSingleton(logDrops);
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .Enrich.FromLogContext()
            // Async with a bounded buffer: a slow console never slows a request; drops are counted.
            .WriteTo.Async(sink => sink.Console(new RenderedCompactJsonFormatter()), bufferSize: 10_000, monitor: logDrops));

        // Registered first, so it listens before any other service records anything.
        builder.Services.AddSingleton<MetricsExporter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MetricsExporter>());
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, MetricsJsonContext.Default));
        return builder;
    }
}
