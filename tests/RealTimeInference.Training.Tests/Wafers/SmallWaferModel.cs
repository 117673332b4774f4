using Microsoft.ML;
using RealTimeInference.Training.Wafers;

namespace RealTimeInference.Training.Tests.Wafers;

/// <summary>The wafer model trained once, in-process, on a few hundred wafers: enough to test the plumbing quickly.</summary>
public sealed class SmallWaferModel
{
    public const int Seed = 7;

    public SmallWaferModel()
    {
        Data = WaferDataset.Create(Seed, trainPerClass: 40, heldOutPerClass: 10, WaferTrainer.Preprocessing);
        Context = new MLContext(Seed);
        Model = WaferTrainer.CreatePipeline(Context, Seed).Fit(WaferRow.Load(Context, Data.Train, Width));
        Onnx = WaferTrainer.ToOnnx(Context, Model, Width);
    }

    public static int Width => WaferTrainer.Preprocessing.TensorLength;

    internal WaferDataset Data { get; }

    internal MLContext Context { get; }

    internal ITransformer Model { get; }

    internal byte[] Onnx { get; }
}
