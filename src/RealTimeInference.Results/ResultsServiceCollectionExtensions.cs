using Microsoft.Extensions.DependencyInjection;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Notifications;
using RealTimeInference.Results.Storage;

namespace RealTimeInference.Results;

public static class ResultsServiceCollectionExtensions
{
    /// <summary>The results store Results:Store chooses, its queue, its writer and its retention (which all stand idle with <c>none</c>).</summary>
    public static IServiceCollection AddResultsStore(this IServiceCollection services)
    {
        services.AddOptions<ResultsOptions>()
            .BindConfiguration(ResultsOptions.Section)
            .Validate(o => o.QueueCapacity >= 1, "Results:QueueCapacity must be at least 1.")
            .Validate(o => o.WriteBatchRows >= 1, "Results:WriteBatchRows must be at least 1.")
            .Validate(o => o.WriteAttempts >= 1, "Results:WriteAttempts must be at least 1.")
            .Validate(o => o.WriteInterval >= TimeSpan.Zero && o.WriteInterval <= TimeSpan.FromMinutes(1), "Results:WriteInterval must be within 0..00:01:00.")
            .Validate(o => o.Retention > TimeSpan.Zero, "Results:Retention must be positive.")
            .Validate(o => o.RetentionInterval > TimeSpan.Zero, "Results:RetentionInterval must be positive.")
            .Validate(o => o.Store != ResultsStoreKind.Sqlite || !string.IsNullOrWhiteSpace(o.Path), "Results:Path must name a file for the sqlite store.")
            .Validate(o => o.Store != ResultsStoreKind.Postgres || !string.IsNullOrWhiteSpace(o.ConnectionString), "Results:ConnectionString must be set for the postgres store.")
            .ValidateOnStart();
        services.AddSingleton<ResultsMetrics>();
        services.AddSingleton<ResultsQueue>();
        services.AddSingleton<ResultsStoreChoice>();
        services.AddHostedService<ResultsWriter>();
        services.AddHostedService<ResultsRetention>();
        return services;
    }

    /// <summary>The alert rules and their keeper; after <see cref="AddResultsStore"/>, whose writer opens the store the keeper reads at start.</summary>
    public static IServiceCollection AddAlerts(this IServiceCollection services)
    {
        services.AddOptions<AlertOptions>()
            .BindConfiguration(AlertOptions.Section)
            .Validate(o => o.Window is >= 1 and <= 32, "Alerts:Window must be within 1..32.")
            .Validate(o => o.FireAnomalies >= 1 && o.FireAnomalies <= o.Window, "Alerts:FireAnomalies must be within 1..Alerts:Window.")
            .Validate(o => o.ResolveAfterNormal >= 1, "Alerts:ResolveAfterNormal must be at least 1.")
            .Validate(o => o.GroupBy.Count > 0 && o.GroupBy.All(AlertGroups.Fields.Contains), "Alerts:GroupBy must list some of tool_id, chamber_id, sensor_id.")
            .Validate(o => o.FloodThreshold >= 1 && o.FloodWindowMinutes >= 1, "Alerts:FloodThreshold and Alerts:FloodWindowMinutes must be at least 1.")
            .Validate(o => o.MaxShelveMinutes >= 1, "Alerts:MaxShelveMinutes must be at least 1.")
            .Validate(o => o.MaxTrackedSensors >= 1, "Alerts:MaxTrackedSensors must be at least 1.")
            .Validate(o => o.KeepResolved >= 0, "Alerts:KeepResolved must not be negative.")
            .Validate(o => o.MaxTimelineSteps >= 1, "Alerts:MaxTimelineSteps must be at least 1.")
            .Validate(o => o.CriticalScore is >= 0 and <= 1, "Alerts:CriticalScore must be within [0, 1].")
            .ValidateOnStart();
        services.AddOptions<NotificationOptions>()
            .BindConfiguration(NotificationOptions.Section)
            .Validate(o => o.Webhooks.All(w => w.Url is { IsAbsoluteUri: true }), "Alerts:Webhooks:<i>:Url must be an absolute URL.")
            .Validate(o => o.Alertmanager.Url is null or { IsAbsoluteUri: true }, "Alerts:Alertmanager:Url must be an absolute URL.")
            .Validate(o => o.PublicUrl.IsAbsoluteUri, "Alerts:PublicUrl must be an absolute URL.")
            .Validate(o => o.ResendInterval > TimeSpan.Zero && o.MaxBackoff > TimeSpan.Zero && o.Timeout > TimeSpan.Zero,
                "Alerts:ResendInterval, MaxBackoff and Timeout must be positive.")
            .ValidateOnStart();
        services.AddSingleton<AlertMetrics>();
        services.AddSingleton<AlertBook>();
        services.AddSingleton<NotificationMetrics>();
        services.AddSingleton<Doorbell>();
        services.AddSingleton<AlertFeed>();
        services.AddSingleton<MemoryOutbox>();
        services.AddSingleton<INotificationOutbox>(sp => (INotificationOutbox?)sp.GetRequiredService<ResultsStoreChoice>().Store ?? sp.GetRequiredService<MemoryOutbox>());
        services.AddHostedService<AlertKeeper>();
        services.AddHostedService<AlertNotifier>();
        return services;
    }
}
