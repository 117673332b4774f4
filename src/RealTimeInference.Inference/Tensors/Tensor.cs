namespace RealTimeInference.Inference.Tensors;

/// <summary>
/// A named tensor: its element type, its shape, and its elements row-major in an array of the
/// type's CLR element type (<c>float[]</c> for FP32, <c>Half[]</c> for FP16, <c>string[]</c> for BYTES, …).
/// For a batchable model the first dimension is the rows.
/// </summary>
public sealed record Tensor(string Name, TensorType Type, long[] Shape, Array Data)
{
    /// <summary>The first dimension: a batchable model's rows.</summary>
    public long Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>A tensor over <paramref name="data"/>, its type from the array's element type.</summary>
    public static Tensor Of(string name, long[] shape, Array data) =>
        TensorTypes.TryOf(data, out var type)
            ? new Tensor(name, type, shape, data)
            : throw new ArgumentException($"No tensor type holds {data.GetType().Name}.", nameof(data));

    /// <summary>
    /// The tensors of many requests as one: each named input concatenated along dimension 0, in
    /// request order. Every request must carry the same inputs with the same inner dimensions.
    /// </summary>
    public static Tensor[] Concatenate(IReadOnlyList<IReadOnlyList<Tensor>> requests)
    {
        var first = requests[0];
        var joined = new Tensor[first.Count];
        for (var i = 0; i < first.Count; i++)
        {
            var rows = requests.Sum(r => r[i].Rows);
            var data = first[i].Type.NewArray(requests.Sum(r => (long)r[i].Data.Length));
            var offset = 0;
            foreach (var request in requests)
            {
                Array.Copy(request[i].Data, 0, data, offset, request[i].Data.Length);
                offset += request[i].Data.Length;
            }

            joined[i] = first[i] with { Shape = [rows, .. first[i].Shape.AsSpan(1)], Data = data };
        }

        return joined;
    }

    /// <summary>Rows <paramref name="start"/>..+<paramref name="count"/> of a tensor whose first dimension holds <paramref name="total"/> rows.</summary>
    public Tensor Slice(long start, long count, long total)
    {
        if (Shape.Length == 0 || Shape[0] != total || Data.Length % total != 0)
        {
            throw new InvalidOperationException($"Output '{Name}' has shape [{string.Join(",", Shape)}] for a batch of {total} rows: its first dimension is not the batch.");
        }

        var perRow = Data.Length / total;
        var data = Type.NewArray(count * perRow);
        Array.Copy(Data, start * perRow, data, 0, count * perRow);
        return this with { Shape = [count, .. Shape.AsSpan(1)], Data = data };
    }
}
