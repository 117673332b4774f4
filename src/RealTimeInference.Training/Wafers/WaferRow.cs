using Microsoft.ML;
using Microsoft.ML.Data;
using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.Training.Wafers;

/// <summary>A training row: the image tensor serving builds from the same PNG, and the generator's class.</summary>
internal sealed class WaferRow
{
    public float[] Features { get; set; } = [];

    /// <summary>
    /// The class index as an ML.NET key of <see cref="WaferPatterns.All"/>.Count values. LightGBM reads
    /// the raw value as the class, so score slot i is class i (checked by the parity tests).
    /// </summary>
    public uint Label { get; set; }

    [NoColumn]
    public WaferPattern Pattern => (WaferPattern)Label;

    /// <summary>The rows' schema with the feature vector's length, which a class attribute cannot carry.</summary>
    public static SchemaDefinition Schema(int featureCount, bool withLabel)
    {
        var schema = SchemaDefinition.Create(typeof(WaferRow));
        schema[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        schema[nameof(Label)].ColumnType = new KeyDataViewType(typeof(uint), WaferPatterns.All.Count);
        if (!withLabel)
        {
            // The exporter turns every column it is given into a graph input: serving has no label.
            schema.Remove(schema[nameof(Label)]);
        }

        return schema;
    }

    public static IDataView Load(MLContext ml, IReadOnlyList<WaferRow> rows, int featureCount) =>
        ml.Data.LoadFromEnumerable(rows, Schema(featureCount, withLabel: true));
}
