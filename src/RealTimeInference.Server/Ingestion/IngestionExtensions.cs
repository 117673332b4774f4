using Microsoft.Extensions.Diagnostics.HealthChecks;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Server.Ingestion;

/// <summary>Readiness: Degraded (still ready: HTTP serves) while an enabled broker transport is not connected.</summary>
internal sealed class IngestionHealthCheck(RabbitMqIngestion rabbit, MqttIngestion mqtt) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>();
        if (rabbit.Enabled)
        {
            data[Transports.RabbitMq] = rabbit.Connected ? "connected" : "reconnecting";
        }

        if (mqtt.Enabled)
        {
            data[Transports.Mqtt] = mqtt.Connected ? "connected" : "reconnecting";
        }

        var away = data.Where(d => (string)d.Value != "connected").Select(d => d.Key).ToArray();
        return Task.FromResult(
            data.Count == 0 ? HealthCheckResult.Healthy("No broker ingestion configured.")
            : away.Length > 0 ? HealthCheckResult.Degraded($"Not connected: {string.Join(", ", away)}; HTTP keeps serving.", data: data)
            : HealthCheckResult.Healthy("Consuming.", data));
    }
}

internal static class IngestionExtensions
{
    /// <summary>Readings from RabbitMQ and MQTT (Ingestion:*; both off by default) into the same scoring, admission and sinks as HTTP.</summary>
    public static IServiceCollection AddIngestion(this IServiceCollection services)
    {
        services.AddOptions<IngestionOptions>()
            .BindConfiguration(IngestionOptions.Section)
            .Validate(o => LatencyClasses.TryParse(o.DefaultClass, out _), "Ingestion:DefaultClass must be emergency, process-control, defect-detection or yield-forecasting.")
            .Validate(o => o.MaxMessageBytes is >= 256 and <= 256 * 1024 * 1024, "Ingestion:MaxMessageBytes must be within 256..268435456.")
            .Validate(o => o.MaxInFlightReadings >= 1, "Ingestion:MaxInFlightReadings must be at least 1.")
            .Validate(o => o.RetryBackoff > TimeSpan.Zero && o.MaxReconnectBackoff > TimeSpan.Zero, "Ingestion:RetryBackoff and MaxReconnectBackoff must be positive.")
            .Validate(o => o.RabbitMq.Prefetch >= 1 && o.RabbitMq.Consumers is >= 1 and <= 64, "Ingestion:RabbitMq:Prefetch must be at least 1 and Consumers within 1..64.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.RabbitMq.Queue), "Ingestion:RabbitMq:Queue is required.")
            .Validate(o => o.Mqtt.Port is > 0 and < 65536 && !string.IsNullOrWhiteSpace(o.Mqtt.Host) && !string.IsNullOrWhiteSpace(o.Mqtt.ClientId), "Ingestion:Mqtt:Host, Port and ClientId are required.")
            .Validate(o => o.Mqtt.ReceiveMaximum >= 1 && o.Mqtt.SessionExpiry > TimeSpan.Zero, "Ingestion:Mqtt:ReceiveMaximum must be at least 1 and SessionExpiry positive.")
            .ValidateOnStart();
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton<BrokerScoring>();
        services.AddSingleton<RabbitMqIngestion>();
        services.AddHostedService(sp => sp.GetRequiredService<RabbitMqIngestion>());
        services.AddSingleton<MqttIngestion>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttIngestion>());
        services.AddHealthChecks().AddCheck<IngestionHealthCheck>("ingestion", tags: [Health.HealthEndpoints.ReadyTag]);
        return services;
    }
}
