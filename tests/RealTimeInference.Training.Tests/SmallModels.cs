using Microsoft.ML;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Training.Data;
using RealTimeInference.Training.Onnx;
using RealTimeInference.Training.Trainers;

namespace RealTimeInference.Training.Tests;

/// <summary>Both models trained once, in-process, on a few thousand rows: enough to test the plumbing quickly.</summary>
public sealed class SmallModels
{
    public const int Seed = 7;

    public SmallModels()
    {
        Train = SensorDataset.Generate(SensorDataset.StreamSeed(Seed, 0), 4_000);
        Rows = SensorDataset.Generate(SensorDataset.StreamSeed(Seed, 2), 2_000);
        Models = SensorTrainers.All.ToDictionary(spec => spec.Name, spec => new SmallModel(spec, Train));
    }

    internal SensorRow[] Train { get; }

    /// <summary>Rows the models never saw, scored by both runtimes.</summary>
    internal SensorRow[] Rows { get; }

    internal IReadOnlyDictionary<string, SmallModel> Models { get; }
}

internal sealed class SmallModel
{
    public SmallModel(ModelSpec spec, IReadOnlyList<SensorRow> train)
    {
        Spec = spec;
        Context = new MLContext(SmallModels.Seed);
        Model = spec.CreatePipeline(Context, SmallModels.Seed).Fit(SensorRow.Load(Context, train));
        Onnx = OnnxExport.ToOnnx(Context, Model, SensorFeatures.Count);
    }

    public ModelSpec Spec { get; }

    public MLContext Context { get; }

    public ITransformer Model { get; }

    public byte[] Onnx { get; }
}
