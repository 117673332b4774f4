using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Onnx;

namespace RealTimeInference.Inference.Tests.Models;

public sealed class ModelLoaderServiceTests
{
    private sealed class Lifetime : IHostApplicationLifetime, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => _stopping.Cancel();

        public void Dispose() => _stopping.Dispose();
    }

    [Fact]
    public async Task ApplicationStopping_DrainsTheRepositoryAtOnce()
    {
        using var meters = new TestMeters();
        var options = Options.Create(new InferenceOptions { ModelsPath = Path.Combine(Path.GetTempPath(), "rti-none-" + Guid.NewGuid().ToString("N")) });
        var metrics = new InferenceMetrics(meters);
        var cache = new PredictionCache(Options.Create(new PredictionCacheOptions()), metrics);
        await using var repository = new ModelRepository(options, TimeProvider.System, metrics, cache, new OnnxScorerFactory(options, NullLogger<OnnxScorerFactory>.Instance), NullLogger<ModelRepository>.Instance);
        using var lifetime = new Lifetime();
        var loader = new ModelLoaderService(repository, lifetime);
        await loader.StartAsync(CancellationToken.None);

        Assert.False(repository.IsDraining);
        lifetime.StopApplication();

        Assert.True(repository.IsDraining);
        Assert.False(repository.IsReady);
    }
}
