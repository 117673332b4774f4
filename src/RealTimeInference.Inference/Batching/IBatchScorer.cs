namespace RealTimeInference.Inference.Batching;

/// <summary>Scores a whole batch of feature rows in one call (one ONNX run); disposing frees the model.</summary>
public interface IBatchScorer : IDisposable
{
    /// <summary>Floats per row.</summary>
    int FeatureCount { get; }

    /// <summary>
    /// Writes one score per row of <paramref name="features"/> (row-major, <see cref="FeatureCount"/>
    /// floats a row) into <paramref name="scores"/>.
    /// </summary>
    void Score(Memory<float> features, int rows, Span<float> scores);
}
