using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Inference.Onnx;

/// <summary>Opens a model file for scoring; the repository's one way to make a scorer.</summary>
public interface IScorerFactory
{
    IBatchScorer Create(string modelPath, ModelManifest manifest);
}

/// <summary>ONNX Runtime sessions, as model.json configures them.</summary>
public sealed class OnnxScorerFactory : IScorerFactory
{
    public IBatchScorer Create(string modelPath, ModelManifest manifest) => new OnnxScorer(modelPath, manifest);
}
