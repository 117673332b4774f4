using Microsoft.ML;
using Microsoft.ML.Data;
using RealTimeInference.Fab.Chambers;
using RealTimeInference.Fab.Sensors;

namespace RealTimeInference.Training.Data;

/// <summary>
/// A training row: the feature vector serving builds from the same reading (the seed's three values,
/// or a chamber's sensors in its model's order), and the simulator's label.
/// </summary>
internal sealed class SensorRow
{
    public float[] Features { get; set; } = [];

    public bool Label { get; set; }

    public static SensorRow From(in LabelledReading labelled)
    {
        var row = new SensorRow { Label = labelled.IsAnomaly, Features = new float[SensorFeatures.Count] };
        SensorFeatures.Write(labelled.Reading, row.Features);
        return row;
    }

    public static SensorRow From(ChamberReading reading) => new() { Label = reading.IsFault, Features = reading.Values };

    /// <summary>
    /// The rows' schema with the feature vector's length, which a class attribute cannot carry. Without
    /// the label it is the serving schema: the exporter turns every column it is given into a graph
    /// input, so the model's one input is <c>Features</c>.
    /// </summary>
    public static SchemaDefinition Schema(int featureCount, bool withLabel)
    {
        var schema = SchemaDefinition.Create(typeof(SensorRow));
        schema[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        if (!withLabel)
        {
            schema.Remove(schema[nameof(Label)]);
        }

        return schema;
    }

    /// <summary>The rows as ML.NET reads them; every row as wide as the first.</summary>
    public static IDataView Load(MLContext ml, IReadOnlyList<SensorRow> rows) =>
        ml.Data.LoadFromEnumerable(rows, Schema(rows.Count == 0 ? SensorFeatures.Count : rows[0].Features.Length, withLabel: true));
}
