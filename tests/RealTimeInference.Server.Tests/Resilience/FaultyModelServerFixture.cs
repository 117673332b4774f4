using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Onnx;

namespace RealTimeInference.Server.Tests.Resilience;

/// <summary>
/// The bundled models behind scorers whose runs the test can make fail, with a fake clock for
/// the circuit breakers: open after 4 runs when half of them fail, for 5 s.
/// </summary>
public sealed class FaultyModelServerFixture : ServerFixture
{
    private readonly ConcurrentDictionary<string, bool> _failing = new();
    private readonly ConcurrentDictionary<string, int> _runs = new();

    public FakeTimeProvider Time { get; } = new();

    public void Fail(string model, bool failing) => _failing[model] = failing;

    /// <summary>Model runs attempted so far (failed ones included).</summary>
    public int Runs(string model) => _runs.GetValueOrDefault(model);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Inference:Resilience:MinimumThroughput", "4"),
        new("Inference:Resilience:FailureRatio", "0.5"),
        new("Inference:Resilience:BreakDuration", "00:00:05"),
    ];

    protected override void ConfigureTestServices(IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<OnnxScorerFactory>();
        services.AddSingleton<IScorerFactory>(sp => new FaultyScorerFactory(sp.GetRequiredService<OnnxScorerFactory>(), this));
    }

    private sealed class FaultyScorerFactory(OnnxScorerFactory onnx, FaultyModelServerFixture fixture) : IScorerFactory
    {
        public IBatchScorer Create(string modelPath, ModelManifest manifest) =>
            new FaultyScorer(onnx.Create(modelPath, manifest), manifest.Name, fixture);
    }

    private sealed class FaultyScorer(IBatchScorer inner, string model, FaultyModelServerFixture fixture) : IBatchScorer
    {
        public int FeatureCount => inner.FeatureCount;

        public int OutputCount => inner.OutputCount;

        public void Score(Memory<float> features, int rows, Span<float> scores)
        {
            fixture._runs.AddOrUpdate(model, 1, (_, runs) => runs + 1);
            if (fixture._failing.GetValueOrDefault(model))
            {
                throw new InvalidOperationException($"Injected fault in {model}.");
            }

            inner.Score(features, rows, scores);
        }

        public void Dispose() => inner.Dispose();
    }
}
