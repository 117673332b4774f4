using Microsoft.ML;
using RealTimeInference.Training.Data;
using RealTimeInference.Training.Trainers;

namespace RealTimeInference.Training.Onnx;

/// <summary>Converts a trained pipeline to ONNX with one input, <c>Features</c> [N, features], and only the probability output.</summary>
internal static class OnnxExport
{
    public static byte[] ToOnnx(MLContext ml, ITransformer model, int featureCount)
    {
        // The exporter turns every column of the schema it is given into a graph input; a
        // features-only schema keeps the label out.
        var servingSchema = ml.Data.LoadFromEnumerable(Array.Empty<SensorRow>(), SensorRow.Schema(featureCount, withLabel: false));
        using var stream = new MemoryStream();
        ml.Model.ConvertToOnnx(model, servingSchema, stream, SensorTrainers.ProbabilityColumn);
        return stream.ToArray();
    }
}
