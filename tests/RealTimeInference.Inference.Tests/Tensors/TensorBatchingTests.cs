using Microsoft.Extensions.Logging.Abstractions;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Onnx;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Inference.Tests.Tensors;

/// <summary>
/// The micro-batcher over a model with two inputs of different datatypes and two outputs (PyTorch's
/// export): rows of many requests joined into one run along dimension 0 and split back, each
/// request's answer the one the exporter gave for its rows alone.
/// </summary>
public sealed class TensorBatchingTests : IDisposable
{
    private static readonly Dictionary<string, TensorType> Types = new()
    {
        ["x"] = TensorType.Fp32,
        ["recipe"] = TensorType.Int64,
        ["logits"] = TensorType.Fp32,
        ["label"] = TensorType.Int64,
    };

    private readonly OnnxScorer _onnx = new(ForeignModels.OnnxPath("fab-recipe"), manifest: null);
    private readonly TestMeters _meters = new();

    [Fact]
    public void Signature_IsReadFromTheGraph_WithTheBatchDimension()
    {
        var signature = _onnx.Signature;

        Assert.Equal(["x FP32[-1,4]", "recipe INT64[-1,1]"], signature.Inputs.Select(i => i.ToString()));
        Assert.Equal(["logits FP32[-1,2]", "label INT64[-1]"], signature.Outputs.Select(o => o.ToString()));
        Assert.True(signature.CanConcatenate);
    }

    [Fact]
    public async Task Run_RowsOfConcurrentRequests_ShareOneRunAndEachGetsItsOwnAnswer()
    {
        var inputs = ForeignModels.Tensors("fab-recipe", "inputs", Types);
        var expected = ForeignModels.Tensors("fab-recipe", "outputs", Types);
        var rows = (int)inputs[0].Rows;
        var gate = new GatedRuns(_onnx);
        await using var batcher = new MicroBatcher(
            "fab-recipe", gate, maxBatchRows: 64, capacityRows: 1024, TimeSpan.Zero, TimeProvider.System, new InferenceMetrics(_meters), NullLogger.Instance);

        // One run in the model; every row then queues as its own request, in reverse, asking for the outputs in either order.
        gate.Close();
        var first = batcher.RunAsync(Rows(inputs, 0, 1), ["logits", "label"], Deadline()).AsTask();
        await gate.WaitForRunAsync();
        var queued = Enumerable.Range(0, rows).Reverse()
            .Select(r => (Row: r, Outputs: r % 2 == 0 ? new[] { "logits", "label" } : ["label", "logits"]))
            .Select(q => (q.Row, q.Outputs, Task: batcher.RunAsync(Rows(inputs, q.Row, 1), q.Outputs, Deadline()).AsTask()))
            .ToList();
        gate.Open();

        Assert.Equal(Outcome.Ok, (await first).Outcome);
        foreach (var (row, outputs, task) in queued)
        {
            var result = await task;
            Assert.Equal(Outcome.Ok, result.Outcome);
            Assert.Equal(rows, result.BatchRequests);
            Assert.Equal(outputs, result.Outputs!.Select(o => o.Name));
            var logits = result.Outputs!.Single(o => o.Name == "logits");
            var label = result.Outputs!.Single(o => o.Name == "label");
            Assert.Equal([1L, 2L], logits.Shape);
            Assert.Equal([1L], label.Shape);
            var expectedLogits = ((float[])expected[0].Data).AsSpan(row * 2, 2).ToArray();
            Assert.All(((float[])logits.Data).Zip(expectedLogits), p => Assert.Equal(p.Second, p.First, 1e-4f));
            Assert.Equal(((long[])expected[1].Data)[row], ((long[])label.Data)[0]);
        }

        Assert.Equal([1, rows], gate.Runs);
    }

    [Fact]
    public void Run_AWholeBatch_MatchesTheExporter()
    {
        var inputs = ForeignModels.Tensors("fab-recipe", "inputs", Types);
        var expected = ForeignModels.Tensors("fab-recipe", "outputs", Types);

        var outputs = _onnx.Run(inputs, ["label", "logits"]);

        Assert.Equal((long[])expected[1].Data, (long[])outputs[0].Data);
        Assert.All(((float[])outputs[1].Data).Zip((float[])expected[0].Data), p => Assert.Equal(p.Second, p.First, 1e-4f));
    }

    public void Dispose()
    {
        _onnx.Dispose();
        _meters.Dispose();
    }

    private static Deadline Deadline() => Scheduling.Deadline.For(LatencyClass.ProcessControl, TimeProvider.System.GetTimestamp(), TimeProvider.System);

    private static Tensor[] Rows(IReadOnlyList<Tensor> tensors, int start, int count) =>
        [.. tensors.Select(t => t.Slice(start, count, t.Rows))];

    /// <summary>The real model behind a gate: while closed, a run waits after it starts, so work can queue behind it.</summary>
    private sealed class GatedRuns(IBatchScorer inner) : IBatchScorer
    {
        private readonly ManualResetEventSlim _gate = new(initialState: true);
        private readonly SemaphoreSlim _started = new(0);

        public List<int> Runs { get; } = [];

        public int FeatureCount => inner.FeatureCount;

        public ModelSignature? Signature => inner.Signature;

        public void Close() => _gate.Reset();

        public void Open() => _gate.Set();

        public async Task WaitForRunAsync() => Assert.True(await _started.WaitAsync(TimeSpan.FromSeconds(10)), "No run started.");

        public void Score(Memory<float> features, int rows, Span<float> scores) => throw new NotSupportedException();

        public IReadOnlyList<Tensor> Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputs)
        {
            Runs.Add((int)inputs[0].Rows);
            _started.Release();
            _gate.Wait(TimeSpan.FromSeconds(10));
            return inner.Run(inputs, outputs);
        }

        public void Dispose()
        {
            _gate.Dispose();
            _started.Dispose();
        }
    }
}
