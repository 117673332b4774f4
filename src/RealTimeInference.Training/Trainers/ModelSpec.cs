using Microsoft.ML;

namespace RealTimeInference.Training.Trainers;

/// <summary>A model the CLI publishes: its name in <c>models/</c>, what it is, and the ML.NET pipeline that trains it.</summary>
internal sealed record ModelSpec(
    string Name,
    string Description,
    string Trainer,
    string? Fallback,
    Func<MLContext, int, IEstimator<ITransformer>> CreatePipeline);
