using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Inference.Models;

/// <summary>A version of a model that answers requests, with its session, signature and batcher.</summary>
public sealed class ServedModel(
    string name,
    int version,
    IReadOnlyList<int> versions,
    ModelManifest manifest,
    IBatchScorer scorer,
    MicroBatcher batcher,
    ModelSignature signature) : IAsyncDisposable
{
    public string Name { get; } = name;

    public int Version { get; } = version;

    /// <summary>Every version folder found, ascending.</summary>
    public IReadOnlyList<int> Versions { get; } = versions;

    /// <summary>model.json completed from the ONNX signature.</summary>
    public ModelManifest Manifest { get; } = manifest;

    /// <summary>The graph's inputs and outputs.</summary>
    public ModelSignature Signature { get; } = signature;

    public MicroBatcher Batcher { get; } = batcher;

    /// <summary>
    /// The other versions the version policy serves beside this one (the highest), each addressable
    /// by number; empty under the default policy (the latest only).
    /// </summary>
    public IReadOnlyList<ServedModel> OtherVersions { get; init; } = [];

    public int FeatureCount => scorer.FeatureCount;

    /// <summary>Where the session runs (CPU unless CUDA was configured and available).</summary>
    public ExecutionProvider Provider => scorer.Provider;

    /// <summary>Scores per row: one per class of a multi-class model.</summary>
    public int OutputCount => scorer.OutputCount;

    /// <summary>Whether the row endpoints can score it: model.json names its one FP32 input and output.</summary>
    public bool TakesRows => Manifest.Input is not null && Manifest.Output is not null;

    /// <summary>This version or another one served, by number; null when that version is not served.</summary>
    public ServedModel? WithVersion(int number) =>
        number == Version ? this : OtherVersions.FirstOrDefault(v => v.Version == number);

    /// <summary>
    /// Whether <paramref name="other"/>'s rows can be scored by this model as they are: the same
    /// input features in the same order (or the same image tensor length) and as many scores a row.
    /// </summary>
    public bool TakesTheSameRowsAs(ServedModel other) =>
        TakesRows && other.TakesRows
        && FeatureCount == other.FeatureCount && OutputCount == other.OutputCount
        && Manifest.Input!.Features.SequenceEqual(other.Manifest.Input!.Features, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="other"/>'s tensors can be run by this model as they are: the same inputs and outputs, by name, type and dims.</summary>
    public bool TakesTheSameTensorsAs(ServedModel other)
    {
        static bool Same(IReadOnlyList<TensorSpec> a, IReadOnlyList<TensorSpec> b) =>
            a.Count == b.Count && a.Zip(b).All(p => p.First.Name == p.Second.Name && p.First.Type == p.Second.Type && p.First.Dims.SequenceEqual(p.Second.Dims));
        return Same(Signature.Inputs, other.Signature.Inputs) && Same(Signature.Outputs, other.Signature.Outputs);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var older in OtherVersions)
        {
            await older.DisposeAsync().ConfigureAwait(false);
        }

        await Batcher.DisposeAsync().ConfigureAwait(false);
        scorer.Dispose();
    }
}
