using Microsoft.ML.Data;
using RealTimeInference.Fab.Sensors;

namespace RealTimeInference.Training.Data;

/// <summary>A training row: the feature vector serving builds from the same reading, and the simulator's label.</summary>
internal sealed class SensorRow
{
    [VectorType(SensorFeatures.Count)]
    public float[] Features { get; set; } = new float[SensorFeatures.Count];

    public bool Label { get; set; }

    public static SensorRow From(in LabelledReading labelled)
    {
        var row = new SensorRow { Label = labelled.IsAnomaly };
        SensorFeatures.Write(labelled.Reading, row.Features);
        return row;
    }
}

/// <summary>
/// The serving-side schema: features only. Exporting from it keeps the label out of the ONNX
/// graph's inputs, so the model's one input is <c>Features</c>.
/// </summary>
internal sealed class SensorFeatureRow
{
    [VectorType(SensorFeatures.Count)]
    public float[] Features { get; set; } = new float[SensorFeatures.Count];
}
