using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Inference;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>The model repository, its loader, and the engine's metrics and monitor.</summary>
    public static IServiceCollection AddInference(this IServiceCollection services)
    {
        services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.ModelsPath), "Inference:ModelsPath is required.")
            .Validate(o => Enum.IsDefined(o.ExecutionProvider) && o.CudaDeviceId >= 0, "Inference:ExecutionProvider must be Cpu or Cuda, Inference:CudaDeviceId not negative.")
            .Validate(o => o.MonitorWindowSeconds is >= 1 and <= 3600, "Inference:MonitorWindowSeconds must be within 1..3600.")
            .ValidateOnStart();
        services.AddOptions<PredictionCacheOptions>()
            .BindConfiguration(PredictionCacheOptions.Section)
            .Validate(o => o.Capacity >= 1, "Inference:Cache:Capacity must be at least 1.")
            .ValidateOnStart();
        services.AddSingleton<PredictionCache>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<InferenceMetrics>();
        services.AddSingleton<ModelRepository>();
        services.AddSingleton(sp => new RequestMonitor(
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<InferenceOptions>>().Value.MonitorWindowSeconds));
        services.AddHostedService<ModelLoaderService>();
        return services;
    }
}
