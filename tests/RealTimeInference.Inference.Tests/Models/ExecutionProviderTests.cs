using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Onnx;

namespace RealTimeInference.Inference.Tests.Models;

public sealed class ExecutionProviderTests
{
    private static string BundledModels()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RealTimeInference.sln")))
            {
                return Path.Combine(folder.FullName, "models");
            }
        }

        throw new InvalidOperationException("No RealTimeInference.sln above the test binaries.");
    }

    [Fact]
    public async Task Cuda_OnTheCpuBuild_FallsBackToCpu_WithOneLogLine()
    {
        using var meters = new TestMeters();
        var metrics = new InferenceMetrics(meters);
        var logger = new FakeLogger<OnnxScorerFactory>();
        var options = Options.Create(new InferenceOptions { ModelsPath = BundledModels(), ExecutionProvider = ExecutionProvider.Cuda });
        await using var repository = new ModelRepository(
            options, TimeProvider.System, metrics, new PredictionCache(Options.Create(new PredictionCacheOptions()), metrics),
            new OnnxScorerFactory(options, logger), NullLogger<ModelRepository>.Instance);

        repository.LoadAll();

        Assert.True(repository.Models.Count >= 3);
        Assert.All(repository.Models, model => Assert.Equal(ExecutionProvider.Cpu, model.Provider));
        var fallback = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 1005);
        Assert.Equal(LogLevel.Warning, fallback.Level);
        Assert.Contains("CPU", fallback.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cpu_ByDefault_LogsNoFallback()
    {
        using var meters = new TestMeters();
        var metrics = new InferenceMetrics(meters);
        var logger = new FakeLogger<OnnxScorerFactory>();
        var options = Options.Create(new InferenceOptions { ModelsPath = BundledModels() });
        await using var repository = new ModelRepository(
            options, TimeProvider.System, metrics, new PredictionCache(Options.Create(new PredictionCacheOptions()), metrics),
            new OnnxScorerFactory(options, logger), NullLogger<ModelRepository>.Instance);

        repository.LoadAll();

        Assert.All(repository.Models, model => Assert.Equal(ExecutionProvider.Cpu, model.Provider));
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Id.Id == 1005);
    }
}
