using RealTimeInference.Inference.Batching;

namespace RealTimeInference.Inference.Models;

/// <summary>The version of a model that answers requests, with its session and batcher.</summary>
public sealed class ServedModel(
    string name,
    int version,
    IReadOnlyList<int> versions,
    ModelManifest manifest,
    IBatchScorer scorer,
    MicroBatcher batcher) : IAsyncDisposable
{
    public string Name { get; } = name;

    public int Version { get; } = version;

    /// <summary>Every version folder found, ascending; the highest serves.</summary>
    public IReadOnlyList<int> Versions { get; } = versions;

    public ModelManifest Manifest { get; } = manifest;

    public MicroBatcher Batcher { get; } = batcher;

    public int FeatureCount => scorer.FeatureCount;

    /// <summary>Where the session runs (CPU unless CUDA was configured and available).</summary>
    public ExecutionProvider Provider => scorer.Provider;

    /// <summary>Scores per row: one per class of a multi-class model.</summary>
    public int OutputCount => scorer.OutputCount;

    /// <summary>
    /// Whether <paramref name="other"/>'s rows can be scored by this model as they are: the same
    /// input features in the same order (or the same image tensor length) and as many scores a row.
    /// </summary>
    public bool TakesTheSameRowsAs(ServedModel other) =>
        FeatureCount == other.FeatureCount && OutputCount == other.OutputCount
        && Manifest.Input.Features.SequenceEqual(other.Manifest.Input.Features, StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        await Batcher.DisposeAsync().ConfigureAwait(false);
        scorer.Dispose();
    }
}
