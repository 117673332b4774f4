using System.Runtime.CompilerServices;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Server.Readings;

/// <summary>
/// How a model takes readings: which sensor fills which column of which input, and which output is
/// the score. An FP32 input [N, k] whose configuration names its <c>features</c> takes those k
/// sensors in order; an FP32 input [N] or [N, 1] without them takes the sensor of its own name. The
/// score is the last column of the row output (<c>output</c> in model.json), else of the only
/// output: the probability of the fault class for a two-class model. Worked out once per served model.
/// </summary>
internal sealed class ReadingLayout
{
    private static readonly ConditionalWeakTable<ServedModel, ReadingLayout> Layouts = [];

    private readonly Dictionary<string, (int Input, int Column, int Sensor)> _places;

    private ReadingLayout(IReadOnlyList<(TensorSpec Spec, string[] Sensors)> inputs, string output, int rowsPerRun)
    {
        RowsPerRun = rowsPerRun;
        Inputs = inputs;
        Outputs = [output];
        Sensors = [.. inputs.SelectMany(i => i.Sensors)];
        Places = [.. inputs.SelectMany((input, i) => input.Sensors.Select((_, c) => (i, c)))];
        _places = new Dictionary<string, (int, int, int)>(StringComparer.Ordinal);
        for (var i = 0; i < inputs.Count; i++)
        {
            for (var c = 0; c < inputs[i].Sensors.Length; c++)
            {
                _places[inputs[i].Sensors[c]] = (i, c, _places.Count);
            }
        }
    }

    /// <summary>The inputs in the graph's order, each with the sensors of its columns.</summary>
    public IReadOnlyList<(TensorSpec Spec, string[] Sensors)> Inputs { get; }

    /// <summary>Every sensor the model reads, in input and column order.</summary>
    public IReadOnlyList<string> Sensors { get; }

    /// <summary>Per sensor of <see cref="Sensors"/>, its input and column there.</summary>
    public IReadOnlyList<(int Input, int Column)> Places { get; }

    /// <summary>The most readings one run takes: the model's <c>max_batch_size</c>.</summary>
    public int RowsPerRun { get; }

    /// <summary>The one output asked of a run: the one whose last column is the score.</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>Where sensor <paramref name="name"/> goes: its input, column there, and place in <see cref="Sensors"/>; false when the model does not read it.</summary>
    public bool TryPlace(string name, out int input, out int column, out int sensor)
    {
        var found = _places.TryGetValue(name, out var place);
        (input, column, sensor) = place;
        return found;
    }

    /// <summary>The layout of <paramref name="model"/>; null, with why, when it cannot take readings.</summary>
    public static ReadingLayout? For(ServedModel model, out string? error)
    {
        if (Layouts.TryGetValue(model, out var known))
        {
            error = null;
            return known;
        }

        var layout = Build(model, out error);
        if (layout is not null)
        {
            Layouts.AddOrUpdate(model, layout);
        }

        return layout;
    }

    private static ReadingLayout? Build(ServedModel model, out string? error)
    {
        var manifest = model.Manifest;
        var signature = model.Signature;
        if (!signature.CanConcatenate)
        {
            error = $"Model '{model.Name}' has no batch dimension of fixed-size rows, so it cannot score readings; call it through /v2.";
            return null;
        }

        var inputs = new List<(TensorSpec, string[])>();
        foreach (var spec in signature.Inputs)
        {
            var features = manifest.Inputs?.FirstOrDefault(t => t.Name == spec.Name)?.Features
                ?? (manifest.Input is { } row && row.Name == spec.Name && manifest.Preprocessing is null ? row.Features : null);
            var columns = spec.Dims.Length == 1 ? 1 : spec.Dims.Length == 2 ? spec.Dims[1] : -1;
            if (spec.Type != TensorType.Fp32 || columns < 1)
            {
                error = $"Model '{model.Name}' input {spec} is not a row of FP32 sensor values ([N] or [N, k]), so it cannot score readings; call it through /v2.";
                return null;
            }

            if (features is { Count: > 0 } && features.Count != columns)
            {
                error = $"Model '{model.Name}' input '{spec.Name}' has {columns} columns but its features name {features.Count} sensors.";
                return null;
            }

            if (features is not { Count: > 0 } && columns != 1)
            {
                error = $"Model '{model.Name}' input '{spec.Name}' has {columns} columns and no features naming their sensors (inputs[].features in model.json).";
                return null;
            }

            inputs.Add((spec, features is { Count: > 0 } ? [.. features] : [spec.Name]));
        }

        var outputName = manifest.Output?.Name ?? (signature.Outputs.Count == 1 ? signature.Outputs[0].Name : null);
        if (outputName is null || signature.Output(outputName) is not { Type: TensorType.Fp32 } output || output.Dims.Length > 2)
        {
            error = $"Model '{model.Name}' names no FP32 score output ([N] or [N, k]; output.name in model.json when it has several).";
            return null;
        }

        var duplicate = inputs.SelectMany(i => i.Item2).GroupBy(s => s, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            error = $"Model '{model.Name}' reads sensor '{duplicate.Key}' in more than one column.";
            return null;
        }

        error = null;
        return new ReadingLayout(inputs, outputName, Math.Max(1, manifest.Batching.MaxBatchSize));
    }
}
