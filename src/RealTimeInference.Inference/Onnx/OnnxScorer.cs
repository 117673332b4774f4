using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using OrtSessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace RealTimeInference.Inference.Onnx;

/// <summary>
/// One <see cref="InferenceSession"/> for one model version. The input tensor is built over the
/// caller's (pooled) buffer, so a batch is scored without copying its rows again.
/// </summary>
public sealed class OnnxScorer : IBatchScorer
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly long[] _shape;
    private int _disposed;

    public OnnxScorer(string modelPath, ModelManifest manifest, ExecutionProvider provider = ExecutionProvider.Cpu, int cudaDeviceId = 0)
    {
        using var options = new OrtSessionOptions
        {
            // Explicit, never the host's core count: the batcher already gives each model one lane.
            IntraOpNumThreads = manifest.Threads.IntraOp,
            InterOpNumThreads = manifest.Threads.InterOp,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        // Spinning threads would burn the cores Kestrel needs between batches.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (provider == ExecutionProvider.Cuda)
        {
            try
            {
                options.AppendExecutionProvider_CUDA(cudaDeviceId);
                Provider = ExecutionProvider.Cuda;
            }
#pragma warning disable CA1031 // The CPU build, or a machine without CUDA, runs on the CPU instead: the caller logs why.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                ProviderFallback = ex.Message;
            }
        }

        _session = new InferenceSession(modelPath, options);
        try
        {
            FeatureCount = manifest.InputLength;
            OutputCount = manifest.OutputCount;
            _shape = [0, .. manifest.InputShape.Select(d => (long)d)];
            CheckSignature(manifest);
            _inputNames = [manifest.Input.Name];
            _outputNames = [manifest.Output.Name];
            // The first run allocates ORT's kernels and arenas: pay for it before traffic does.
            Score(new float[FeatureCount], 1, new float[OutputCount]);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int FeatureCount { get; }

    public int OutputCount { get; }

    /// <summary>Where this session runs.</summary>
    public ExecutionProvider Provider { get; }

    /// <summary>Why CUDA was asked for and the session runs on the CPU; null otherwise.</summary>
    public string? ProviderFallback { get; }

    public void Score(Memory<float> features, int rows, Span<float> scores)
    {
        var shape = (long[])_shape.Clone();
        shape[0] = rows;
        using var input = OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance, features[..(rows * FeatureCount)], shape);
        using var outputs = _session.Run(_runOptions, _inputNames, [input], _outputNames);
        var values = outputs[0].GetTensorDataAsSpan<float>();
        if (values.Length != rows * OutputCount)
        {
            throw new InvalidOperationException($"Model returned {values.Length} scores for {rows} rows of {OutputCount}.");
        }

        values.CopyTo(scores);
    }

    public void Dispose()
    {
        // A native session freed twice corrupts the heap: only the first call frees.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _session.Dispose();
        _runOptions.Dispose();
    }

    private void CheckSignature(ModelManifest manifest)
    {
        if (!_session.InputMetadata.TryGetValue(manifest.Input.Name, out var input))
        {
            throw new InvalidDataException(
                $"input.name '{manifest.Input.Name}' is not an input of the ONNX model (it has: {string.Join(", ", _session.InputMetadata.Keys)}).");
        }

        // A dynamic (-1) dimension fits any size; the batch dimension always is.
        var expected = manifest.InputShape;
        if (input.ElementDataType != TensorElementType.Float || input.Dimensions.Length != expected.Count + 1
            || expected.Where((d, i) => input.Dimensions[i + 1] >= 0 && input.Dimensions[i + 1] != d).Any())
        {
            throw new InvalidDataException(
                $"input '{manifest.Input.Name}' must be float[N, {string.Join(", ", expected)}] to match input.features (or preprocessing); the model has {input.ElementDataType}[{string.Join(", ", input.Dimensions)}].");
        }

        if (_session.InputMetadata.Count != 1)
        {
            throw new InvalidDataException($"The ONNX model must have exactly one input; it has {_session.InputMetadata.Count}.");
        }

        if (!_session.OutputMetadata.TryGetValue(manifest.Output.Name, out var output) || output.ElementDataType != TensorElementType.Float)
        {
            throw new InvalidDataException($"output.name '{manifest.Output.Name}' is not a float output of the ONNX model.");
        }
    }
}
