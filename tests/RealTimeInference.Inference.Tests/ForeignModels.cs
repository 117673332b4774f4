using System.Text.Json;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Inference.Tests;

/// <summary>
/// The models PyTorch exported (tests/ForeignModels/export_models.py) and the answers PyTorch gave
/// for fixed inputs (expected.json), as tensors.
/// </summary>
internal static class ForeignModels
{
    public static string Root { get; } = Path.Combine(AppContext.BaseDirectory, "ForeignModels");

    public static string OnnxPath(string model) => Path.Combine(Root, model, "1", "model.onnx");

    private static readonly JsonDocument Expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "expected.json")));

    /// <summary>The named inputs or outputs of <paramref name="model"/> as the exporter saw them, in file order.</summary>
    public static IReadOnlyList<Tensor> Tensors(string model, string part, IReadOnlyDictionary<string, TensorType> types)
    {
        var tensors = new List<Tensor>();
        foreach (var tensor in Expected.RootElement.GetProperty(model).GetProperty(part).EnumerateObject())
        {
            var shape = tensor.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var data = tensor.Value.GetProperty("data").EnumerateArray().ToArray();
            Array values = types[tensor.Name] switch
            {
                TensorType.Int64 => data.Select(d => d.GetInt64()).ToArray(),
                _ => data.Select(d => (float)d.GetDouble()).ToArray(),
            };
            tensors.Add(new Tensor(tensor.Name, types[tensor.Name], shape, values));
        }

        return tensors;
    }
}
