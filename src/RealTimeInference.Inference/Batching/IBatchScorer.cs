using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Inference.Batching;

/// <summary>Scores a whole batch in one call (one ONNX run); disposing frees the model.</summary>
public interface IBatchScorer : IDisposable
{
    /// <summary>Floats per row of the one FP32 input that <see cref="Score"/> feeds; 0 when the model has no such input.</summary>
    int FeatureCount { get; }

    /// <summary>Scores per row (one per class for a multi-class model).</summary>
    int OutputCount => 1;

    /// <summary>Where the model runs.</summary>
    ExecutionProvider Provider => ExecutionProvider.Cpu;

    /// <summary>The graph's inputs and outputs; null for a scorer that only has <see cref="Score"/> (its manifest says them).</summary>
    ModelSignature? Signature => null;

    /// <summary>
    /// Writes <see cref="OutputCount"/> scores per row of <paramref name="features"/> (row-major,
    /// <see cref="FeatureCount"/> floats a row) into <paramref name="scores"/>, row-major too.
    /// </summary>
    void Score(Memory<float> features, int rows, Span<float> scores);

    /// <summary>Runs each sample once before traffic (the first run allocates the runtime's kernels and arenas); a scorer with nothing to warm does nothing.</summary>
    void WarmUp(IReadOnlyList<IReadOnlyList<Tensor>> samples, IReadOnlyList<string> outputs)
    {
    }

    /// <summary>
    /// Runs the model on named input tensors and answers the named outputs, in that order. A scorer
    /// with only <see cref="Score"/> takes one FP32 input and answers one output.
    /// </summary>
    IReadOnlyList<Tensor> Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputs)
    {
        if (inputs is not [{ Data: float[] features } input] || outputs.Count != 1)
        {
            throw new NotSupportedException("This scorer takes one FP32 input and answers one output.");
        }

        var rows = (int)input.Rows;
        var scores = new float[rows * OutputCount];
        Score(features, rows, scores);
        return [new Tensor(outputs[0], TensorType.Fp32, [rows, OutputCount], scores)];
    }
}
