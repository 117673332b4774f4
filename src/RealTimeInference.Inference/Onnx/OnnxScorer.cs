using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = RealTimeInference.Inference.Tensors.Tensor;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Tensors;
using OrtSessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace RealTimeInference.Inference.Onnx;

/// <summary>
/// One <see cref="InferenceSession"/> for one model version: any tensor inputs and outputs by name
/// (<see cref="Run"/>), and the rows of floats of a model with one FP32 input (<see cref="Score"/>),
/// whose input tensor is built over the caller's (pooled) buffer so a batch is not copied again.
/// </summary>
public sealed class OnnxScorer : IBatchScorer
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly long[] _shape;
    private int _disposed;

    /// <param name="modelPath">The model.onnx file.</param>
    /// <param name="manifest">model.json as written (null without one): its threads, and the one FP32 input and output <see cref="Score"/> uses when it names them.</param>
    /// <param name="provider">Where to run.</param>
    /// <param name="cudaDeviceId">The CUDA device, for <see cref="ExecutionProvider.Cuda"/>.</param>
    public OnnxScorer(string modelPath, ModelManifest? manifest, ExecutionProvider provider = ExecutionProvider.Cpu, int cudaDeviceId = 0)
    {
        var threads = manifest?.Threads ?? ThreadSettings.Default;
        using var options = new OrtSessionOptions
        {
            // Explicit, never the host's core count: the batcher already gives each model one lane.
            IntraOpNumThreads = threads.IntraOp,
            InterOpNumThreads = threads.InterOp,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        // Spinning threads would burn the cores Kestrel needs between batches.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (provider == ExecutionProvider.Cuda)
        {
            try
            {
                options.AppendExecutionProvider_CUDA(cudaDeviceId);
                Provider = ExecutionProvider.Cuda;
            }
#pragma warning disable CA1031 // The CPU build, or a machine without CUDA, runs on the CPU instead: the caller logs why.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                ProviderFallback = ex.Message;
            }
        }

        _session = new InferenceSession(modelPath, options);
        try
        {
            Signature = ReadSignature(_session);
            if (manifest is { Input: { } input, Output: { } output })
            {
                FeatureCount = manifest.InputLength;
                OutputCount = manifest.OutputCount;
                _shape = [0, .. manifest.InputShape.Select(d => (long)d)];
                _inputNames = [input.Name];
                _outputNames = [output.Name];
            }
            else
            {
                _shape = [];
                _inputNames = _outputNames = [];
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int FeatureCount { get; }

    public int OutputCount { get; }

    /// <summary>Where this session runs.</summary>
    public ExecutionProvider Provider { get; }

    /// <summary>Why CUDA was asked for and the session runs on the CPU; null otherwise.</summary>
    public string? ProviderFallback { get; }

    public ModelSignature Signature { get; }

    public void Score(Memory<float> features, int rows, Span<float> scores)
    {
        if (_inputNames.Length == 0)
        {
            throw new NotSupportedException("The model's manifest names no FP32 input and output to score rows of floats with.");
        }

        var shape = (long[])_shape.Clone();
        shape[0] = rows;
        using var input = OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance, features[..(rows * FeatureCount)], shape);
        using var outputs = _session.Run(_runOptions, _inputNames, [input], _outputNames);
        var values = outputs[0].GetTensorDataAsSpan<float>();
        if (values.Length != rows * OutputCount)
        {
            throw new InvalidOperationException($"Model returned {values.Length} scores for {rows} rows of {OutputCount}.");
        }

        values.CopyTo(scores);
    }

    public void Dispose()
    {
        // A native session freed twice corrupts the heap: only the first call frees.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _session.Dispose();
        _runOptions.Dispose();
    }

    public void WarmUp(IReadOnlyList<IReadOnlyList<Tensor>> samples, IReadOnlyList<string> outputs)
    {
        foreach (var sample in samples)
        {
            Run(sample, outputs);
        }
    }

    public IReadOnlyList<Tensor> Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputs)
    {
        var names = new string[inputs.Count];
        var values = new OrtValue[inputs.Count];
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                names[i] = inputs[i].Name;
                values[i] = ToOrt(inputs[i]);
            }

            using var results = _session.Run(_runOptions, names, values, [.. outputs]);
            var answer = new Tensor[outputs.Count];
            for (var i = 0; i < answer.Length; i++)
            {
                answer[i] = FromOrt(outputs[i], results[i]);
            }

            return answer;
        }
        finally
        {
            foreach (var value in values)
            {
                value?.Dispose();
            }
        }
    }

    /// <summary>The graph's tensor inputs and outputs; an output that is not a tensor (a sequence, a map) is not offered.</summary>
    private static ModelSignature ReadSignature(InferenceSession session)
    {
        static IEnumerable<TensorSpec> Specs(IReadOnlyDictionary<string, NodeMetadata> nodes, string what) =>
            nodes.Where(n => n.Value.IsTensor).Select(n => new TensorSpec(
                n.Key,
                TypeOf(n.Value.ElementDataType) ?? throw new InvalidDataException($"{what} '{n.Key}' is {n.Value.ElementDataType}, which the server does not take."),
                [.. n.Value.Dimensions.Select(d => (long)d)]));

        var inputs = session.InputMetadata.Where(n => !n.Value.IsTensor).Select(n => n.Key).ToArray();
        if (inputs.Length > 0)
        {
            throw new InvalidDataException($"input '{inputs[0]}' is not a tensor; the server feeds tensors only.");
        }

        return new ModelSignature([.. Specs(session.InputMetadata, "input")], [.. Specs(session.OutputMetadata, "output")]);
    }

    private static TensorType? TypeOf(TensorElementType type) => type switch
    {
        TensorElementType.Bool => TensorType.Bool,
        TensorElementType.UInt8 => TensorType.UInt8,
        TensorElementType.UInt16 => TensorType.UInt16,
        TensorElementType.UInt32 => TensorType.UInt32,
        TensorElementType.UInt64 => TensorType.UInt64,
        TensorElementType.Int8 => TensorType.Int8,
        TensorElementType.Int16 => TensorType.Int16,
        TensorElementType.Int32 => TensorType.Int32,
        TensorElementType.Int64 => TensorType.Int64,
        TensorElementType.Float16 => TensorType.Fp16,
        TensorElementType.Float => TensorType.Fp32,
        TensorElementType.Double => TensorType.Fp64,
        TensorElementType.String => TensorType.Bytes,
        _ => null,
    };

    // By the tensor's type, never `is sbyte[]`: the runtime lets a byte[] pass for an sbyte[] (and uint[] for int[], …).
    private static OrtValue ToOrt(Tensor tensor) => tensor.Type switch
    {
        TensorType.Fp32 => OrtValue.CreateTensorValueFromMemory((float[])tensor.Data, tensor.Shape),
        TensorType.Fp64 => OrtValue.CreateTensorValueFromMemory((double[])tensor.Data, tensor.Shape),
        // ORT's Float16 and System.Half are both the IEEE binary16 bits.
        TensorType.Fp16 => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<Half, Float16>((Half[])tensor.Data).ToArray(), tensor.Shape),
        TensorType.Int8 => OrtValue.CreateTensorValueFromMemory((sbyte[])tensor.Data, tensor.Shape),
        TensorType.Int16 => OrtValue.CreateTensorValueFromMemory((short[])tensor.Data, tensor.Shape),
        TensorType.Int32 => OrtValue.CreateTensorValueFromMemory((int[])tensor.Data, tensor.Shape),
        TensorType.Int64 => OrtValue.CreateTensorValueFromMemory((long[])tensor.Data, tensor.Shape),
        TensorType.UInt8 => OrtValue.CreateTensorValueFromMemory((byte[])tensor.Data, tensor.Shape),
        TensorType.UInt16 => OrtValue.CreateTensorValueFromMemory((ushort[])tensor.Data, tensor.Shape),
        TensorType.UInt32 => OrtValue.CreateTensorValueFromMemory((uint[])tensor.Data, tensor.Shape),
        TensorType.UInt64 => OrtValue.CreateTensorValueFromMemory((ulong[])tensor.Data, tensor.Shape),
        TensorType.Bool => OrtValue.CreateTensorValueFromMemory((bool[])tensor.Data, tensor.Shape),
        _ => Strings((string[])tensor.Data, tensor.Shape),
    };

    private static OrtValue Strings(string[] values, long[] shape)
    {
        var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
        for (var i = 0; i < values.Length; i++)
        {
            value.StringTensorSetElementAt(values[i].AsSpan(), i);
        }

        return value;
    }

    private static Tensor FromOrt(string name, OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        Array data = info.ElementDataType switch
        {
            TensorElementType.Float => value.GetTensorDataAsSpan<float>().ToArray(),
            TensorElementType.Double => value.GetTensorDataAsSpan<double>().ToArray(),
            TensorElementType.Float16 => MemoryMarshal.Cast<Float16, Half>(value.GetTensorDataAsSpan<Float16>()).ToArray(),
            TensorElementType.Int8 => value.GetTensorDataAsSpan<sbyte>().ToArray(),
            TensorElementType.Int16 => value.GetTensorDataAsSpan<short>().ToArray(),
            TensorElementType.Int32 => value.GetTensorDataAsSpan<int>().ToArray(),
            TensorElementType.Int64 => value.GetTensorDataAsSpan<long>().ToArray(),
            TensorElementType.UInt8 => value.GetTensorDataAsSpan<byte>().ToArray(),
            TensorElementType.UInt16 => value.GetTensorDataAsSpan<ushort>().ToArray(),
            TensorElementType.UInt32 => value.GetTensorDataAsSpan<uint>().ToArray(),
            TensorElementType.UInt64 => value.GetTensorDataAsSpan<ulong>().ToArray(),
            TensorElementType.Bool => value.GetTensorDataAsSpan<bool>().ToArray(),
            TensorElementType.String => value.GetStringTensorAsArray(),
            var other => throw new InvalidDataException($"output '{name}' is {other}, which the server does not answer."),
        };
        return Tensor.Of(name, shape, data);
    }
}
