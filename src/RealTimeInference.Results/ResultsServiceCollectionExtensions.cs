using Microsoft.Extensions.DependencyInjection;
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
            .Validate(o => o.Retention > TimeSpan.Zero, "Results:Retention must be positive.")
            .Validate(o => o.RetentionInterval > TimeSpan.Zero, "Results:RetentionInterval must be positive.")
            .Validate(o => o.Store != ResultsStoreKind.Sqlite || !string.IsNullOrWhiteSpace(o.Path), "Results:Path must name a file for the sqlite store.")
            .ValidateOnStart();
        services.AddSingleton<ResultsMetrics>();
        services.AddSingleton<ResultsQueue>();
        services.AddSingleton<ResultsStoreChoice>();
        services.AddHostedService<ResultsWriter>();
        services.AddHostedService<ResultsRetention>();
        return services;
    }
}
