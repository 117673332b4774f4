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

    /// <summary>
    /// <paramref name="outputs"/> scores per row of <paramref name="rows"/> (row-major), scored
    /// <paramref name="batchSize"/> rows per run; every row as long as the first.
    /// </summary>
    public float[] Score(IReadOnlyList<float[]> rows, int batchSize = 4096, int outputs = 1)
    {
        var width = rows.Count == 0 ? SensorFeatures.Count : rows[0].Length;
        var scores = new float[rows.Count * outputs];
        var features = new float[Math.Min(batchSize, rows.Count) * width];
        using var runOptions = new RunOptions();
        for (var start = 0; start < rows.Count; start += batchSize)
        {
            var count = Math.Min(batchSize, rows.Count - start);
            for (var i = 0; i < count; i++)
            {
                rows[start + i].CopyTo(features, i * width);
            }

            using var input = OrtValue.CreateTensorValueFromMemory(
                OrtMemoryInfo.DefaultInstance,
                features.AsMemory(0, count * width),
                [count, width]);
            using var results = _session.Run(runOptions, [InputName], [input], [OutputName]);
            var output = results[0].GetTensorDataAsSpan<float>();
            if (output.Length != count * outputs)
            {
                throw new InvalidOperationException($"{OutputName} gave {output.Length} values for {count} rows of {outputs}.");
            }

            output.CopyTo(scores.AsSpan(start * outputs, count * outputs));
        }

        return scores;
    }

    public void Dispose() => _session.Dispose();
}
