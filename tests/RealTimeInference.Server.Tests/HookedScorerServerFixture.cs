using Microsoft.Extensions.DependencyInjection;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Onnx;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Server.Tests;

/// <summary>
/// The real server whose every model run (a batch) first calls <see cref="BeforeRun"/>, on the
/// batcher's thread: a fixture can count runs, record what they score, hold them, or make them fail.
/// The models themselves are the real ONNX ones.
/// </summary>
public abstract class HookedScorerServerFixture : ServerFixture
{
    /// <summary>Runs before <paramref name="model"/> scores <paramref name="rows"/> rows of <paramref name="features"/>; throwing fails the run.</summary>
    protected abstract void BeforeRun(string model, ReadOnlySpan<float> features, int rows);

    protected override void ConfigureTestServices(IServiceCollection services)
    {
        services.AddSingleton<OnnxScorerFactory>();
        services.AddSingleton<IScorerFactory>(sp => new HookedScorerFactory(sp.GetRequiredService<OnnxScorerFactory>(), this));
    }

    private sealed class HookedScorerFactory(OnnxScorerFactory onnx, HookedScorerServerFixture fixture) : IScorerFactory
    {
        public IBatchScorer Create(string modelPath, ModelManifest? manifest) =>
            new HookedScorer(onnx.Create(modelPath, manifest), manifest!.Name, fixture);
    }

    private sealed class HookedScorer(IBatchScorer inner, string model, HookedScorerServerFixture fixture) : IBatchScorer
    {
        public int FeatureCount => inner.FeatureCount;

        public int OutputCount => inner.OutputCount;

        public ModelSignature? Signature => inner.Signature;

        public void WarmUp(IReadOnlyList<IReadOnlyList<Tensor>> samples, IReadOnlyList<string> outputs) => inner.WarmUp(samples, outputs);

        public void Score(Memory<float> features, int rows, Span<float> scores)
        {
            fixture.BeforeRun(model, features.Span[..(rows * FeatureCount)], rows);
            inner.Score(features, rows, scores);
        }

        public void Dispose() => inner.Dispose();
    }
}
