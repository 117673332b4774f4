using RealTimeInference.Inference.Models;

namespace RealTimeInference.Inference.Batching;

/// <summary>Scores a whole batch of feature rows in one call (one ONNX run); disposing frees the model.</summary>
public interface IBatchScorer : IDisposable
{
    /// <summary>Floats per row.</summary>
    int FeatureCount { get; }

    /// <summary>Scores per row (one per class for a multi-class model).</summary>
    int OutputCount => 1;

    /// <summary>Where the model runs.</summary>
    ExecutionProvider Provider => ExecutionProvider.Cpu;

    /// <summary>
    /// Writes <see cref="OutputCount"/> scores per row of <paramref name="features"/> (row-major,
    /// <see cref="FeatureCount"/> floats a row) into <paramref name="scores"/>, row-major too.
    /// </summary>
    void Score(Memory<float> features, int rows, Span<float> scores);
}
