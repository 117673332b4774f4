using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Onnx;
using RealTimeInference.Inference.Resilience;

namespace RealTimeInference.Inference;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>The model repository, its loader and guard, and the engine's metrics and monitor.</summary>
    public static IServiceCollection AddInference(this IServiceCollection services)
    {
        services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.ModelsPath), "Inference:ModelsPath is required.")
            .Validate(o => Enum.IsDefined(o.ExecutionProvider) && o.CudaDeviceId >= 0, "Inference:ExecutionProvider must be Cpu or Cuda, Inference:CudaDeviceId not negative.")
            .Validate(o => o.MonitorWindowSeconds is >= 1 and <= 3600, "Inference:MonitorWindowSeconds must be within 1..3600.")
            .Validate(o => o.WatchQuietPeriod >= TimeSpan.Zero, "Inference:WatchQuietPeriod must not be negative.")
            .Validate(o => Enum.IsDefined(o.ModelControl), "Inference:ModelControl must be Poll or Explicit.")
            .Validate(o => o.MaxLoadedModels >= 0, "Inference:MaxLoadedModels must not be negative (0: no limit).")
            .ValidateOnStart();
        services.AddOptions<PredictionCacheOptions>()
            .BindConfiguration(PredictionCacheOptions.Section)
            .Validate(o => o.Capacity >= 1, "Inference:Cache:Capacity must be at least 1.")
            .ValidateOnStart();
        services.AddOptions<ResilienceOptions>()
            .BindConfiguration(ResilienceOptions.Section)
            .Validate(o => o.FailureRatio is > 0 and <= 1, "Inference:Resilience:FailureRatio must be within (0, 1].")
            .Validate(o => o.MinimumThroughput >= 2, "Inference:Resilience:MinimumThroughput must be at least 2.")
            .Validate(
                o => o.SamplingDuration >= TimeSpan.FromMilliseconds(500) && o.BreakDuration >= TimeSpan.FromMilliseconds(500),
                "Inference:Resilience:SamplingDuration and BreakDuration must be at least 00:00:00.5.")
            .Validate(o => o.SlowRun > TimeSpan.Zero, "Inference:Resilience:SlowRun must be positive.")
            .ValidateOnStart();
        services.AddSingleton<PredictionCache>();
        services.TryAddSingleton<IScorerFactory, OnnxScorerFactory>();
        services.AddSingleton<ModelBreakers>();
        services.AddSingleton<ModelGuard>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<InferenceMetrics>();
        services.AddSingleton<ModelRepository>();
        services.AddSingleton(sp => new RequestMonitor(
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<InferenceOptions>>().Value.MonitorWindowSeconds));
        services.AddHostedService<ModelLoaderService>();
        services.AddHostedService<ModelWatcher>();
        return services;
    }
}
