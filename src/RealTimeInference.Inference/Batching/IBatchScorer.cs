namespace RealTimeInference.Inference.Batching;

/// <summary>Scores a whole batch of feature rows in one call (one ONNX run).</summary>
public interface IBatchScorer
{
    /// <summary>Floats per row.</summary>
    int FeatureCount { get; }

    /// <summary>Scores per row (one per class for a multi-class model).</summary>
    int OutputCount => 1;

    /// <summary>
    /// Writes <see cref="OutputCount"/> scores per row of <paramref name="features"/> (row-major,
    /// <see cref="FeatureCount"/> floats a row) into <paramref name="scores"/>, row-major too.
    /// </summary>
    void Score(Memory<float> features, int rows, Span<float> scores);
}
