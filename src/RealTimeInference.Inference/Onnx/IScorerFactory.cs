using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Inference.Onnx;

/// <summary>Opens a model file for scoring; the repository's one way to make a scorer.</summary>
public interface IScorerFactory
{
    /// <param name="modelPath">The version's model.onnx.</param>
    /// <param name="manifest">model.json as written; null when the folder has none.</param>
    IBatchScorer Create(string modelPath, ModelManifest? manifest);
}

/// <summary>
/// ONNX Runtime sessions, as model.json configures them, on the configured execution provider;
/// CUDA that cannot load falls back to the CPU with one warning for the whole process.
/// </summary>
public sealed partial class OnnxScorerFactory(IOptions<InferenceOptions> options, ILogger<OnnxScorerFactory> logger) : IScorerFactory
{
    private int _fallbackLogged;

    public IBatchScorer Create(string modelPath, ModelManifest? manifest)
    {
        var scorer = new OnnxScorer(modelPath, manifest, options.Value.ExecutionProvider, options.Value.CudaDeviceId);
        if (scorer.ProviderFallback is { } reason && Interlocked.Exchange(ref _fallbackLogged, 1) == 0)
        {
            LogCudaUnavailable(logger, reason);
        }

        return scorer;
    }

    [LoggerMessage(EventId = LogEvents.CudaUnavailable, Level = LogLevel.Warning, Message = "Inference:ExecutionProvider is Cuda but CUDA is not available ({Reason}); all models run on the CPU")]
    private static partial void LogCudaUnavailable(ILogger logger, string reason);
}
