using Serilog;
using Serilog.Formatting.Compact;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Observability;

internal static class ObservabilityExtensions
{
    /// <summary>Serilog JSON to the console; the server's meters exported to Prometheus at <c>/metrics</c>.</summary>
    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<LogDropMonitor>();
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .Enrich.FromLogContext()
            // Async with a bounded buffer: a slow console never slows a request; drops are counted.
            .WriteTo.Async(sink => sink.Console(new RenderedCompactJsonFormatter()), bufferSize: 10_000, monitor: services.GetRequiredService<LogDropMonitor>()));

        // Registered first, so it listens before any other service records anything.
        builder.Services.AddSingleton<MetricsExporter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MetricsExporter>());
        builder.Services.AddSingleton<RequestMetrics>();
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, MetricsJsonContext.Default));
        return builder;
    }
}
