namespace RealTimeInference.Inference.Tensors;

/// <summary>One input or output of a model: its name, element type and dimensions (-1: any size; a batchable model's first is its rows).</summary>
public sealed record TensorSpec(string Name, TensorType Type, long[] Dims)
{
    public override string ToString() => $"{Name} {Type.Name()}[{string.Join(",", Dims)}]";
}

/// <summary>
/// A model's inputs and outputs as its graph declares them. It is batchable when every input and
/// output has a variable first dimension (symbolic or -1): requests are then joined along it.
/// </summary>
public sealed record ModelSignature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs)
{
    /// <summary>Whether the first dimension of every input and output is the batch: variable in size.</summary>
    public bool HasBatchDimension =>
        Inputs.Concat(Outputs).All(t => t.Dims.Length > 0 && t.Dims[0] < 0);

    /// <summary>
    /// Whether requests can be concatenated into one run: batchable, and every other dimension of
    /// every input fixed (rows of different inner sizes cannot be stacked).
    /// </summary>
    public bool CanConcatenate => HasBatchDimension && Inputs.All(t => t.Dims.Skip(1).All(d => d >= 0));

    public TensorSpec? Input(string name) => Inputs.FirstOrDefault(t => t.Name == name);

    public TensorSpec? Output(string name) => Outputs.FirstOrDefault(t => t.Name == name);
}
