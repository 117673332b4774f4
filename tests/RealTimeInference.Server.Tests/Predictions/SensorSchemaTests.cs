using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Onnx;
using RealTimeInference.Server.Tests.Models;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class SensorSchemaTests : IDisposable
{
    private readonly ModelCopyServerFixture _models = new();

    [Fact]
    public async Task SensorModel_WhoseFeaturesAreInAnotherOrder_IsNotServed_AndTheLogNamesBothLists()
    {
        var manifest = _models.Model("model.json");
        var text = File.ReadAllText(manifest);
        const string Ordered = "\"temperature\",\n      \"pressure\",";
        Assert.Contains(Ordered, text, StringComparison.Ordinal);
        File.WriteAllText(manifest, text.Replace(Ordered, "\"pressure\",\n      \"temperature\",", StringComparison.Ordinal));
        var logger = new FakeLogger<ModelRepository>();
        var inference = Options.Create(new InferenceOptions { ModelsPath = _models.ModelsPath! });
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new InferenceMetrics(services.GetRequiredService<IMeterFactory>());
        await using var repository = new ModelRepository(
            inference,
            TimeProvider.System,
            metrics,
            new PredictionCache(Options.Create(new PredictionCacheOptions()), metrics),
            new OnnxScorerFactory(inference, NullLogger<OnnxScorerFactory>.Instance),
            logger,
            checks: [new SensorSchemaCheck(Options.Create(new PredictionOptions()))]);

        repository.LoadAll();

        Assert.False(repository.TryGet("sensor-anomaly", out _));
        Assert.True(repository.TryGet("sensor-anomaly-lite", out _));
        var error = Assert.Single(logger.Collector.GetSnapshot(), r => r.Exception is not null).Exception!.Message;
        Assert.Contains("[pressure, temperature, flow_rate]", error, StringComparison.Ordinal);
        Assert.Contains("[temperature, pressure, flow_rate]", error, StringComparison.Ordinal);
    }

    public void Dispose() => _models.Dispose();
}
