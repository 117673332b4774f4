using Microsoft.ML.OnnxRuntime;
using RealTimeInference.Fab.Sensors;

namespace RealTimeInference.Training.Onnx;

/// <summary>Scores feature rows with ONNX Runtime exactly as serving does: one run per batch, one thread.</summary>
internal sealed class OnnxScorer : IDisposable
{
    private readonly InferenceSession _session;

    public OnnxScorer(byte[] model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        _session = new InferenceSession(model, options);
        InputName = _session.InputMetadata.Keys.Single();
        OutputName = _session.OutputMetadata.Keys.Single();
    }

    public string InputName { get; }

    public string OutputName { get; }

    public IReadOnlyDictionary<string, NodeMetadata> InputMetadata => _session.InputMetadata;

    public IReadOnlyDictionary<string, NodeMetadata> OutputMetadata => _session.OutputMetadata;

    /// <summary>One score per row of <paramref name="rows"/>, scored <paramref name="batchSize"/> rows per run.</summary>
    public float[] Score(IReadOnlyList<float[]> rows, int batchSize = 4096)
    {
        var scores = new float[rows.Count];
        var features = new float[Math.Min(batchSize, rows.Count) * SensorFeatures.Count];
        using var runOptions = new RunOptions();
        for (var start = 0; start < rows.Count; start += batchSize)
        {
            var count = Math.Min(batchSize, rows.Count - start);
            for (var i = 0; i < count; i++)
            {
                rows[start + i].CopyTo(features, i * SensorFeatures.Count);
            }

            using var input = OrtValue.CreateTensorValueFromMemory(
                OrtMemoryInfo.DefaultInstance,
                features.AsMemory(0, count * SensorFeatures.Count),
                [count, SensorFeatures.Count]);
            using var outputs = _session.Run(runOptions, [InputName], [input], [OutputName]);
            var output = outputs[0].GetTensorDataAsSpan<float>();
            if (output.Length != count)
            {
                throw new InvalidOperationException($"{OutputName} gave {output.Length} values for {count} rows.");
            }

            output.CopyTo(scores.AsSpan(start, count));
        }

        return scores;
    }

    public void Dispose() => _session.Dispose();
}
