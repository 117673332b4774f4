using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Process;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tensors;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Transport;
using RealTimeInference.Server.Wafers;
using RealTimeInference.Server.Yield;

namespace RealTimeInference.Server.OpenInference;

/// <summary>One output of an answered inference: its datatype, shape and elements row-major, and whether the client wants it as binary data.</summary>
internal sealed record V2Output(string Name, TensorType Type, long[] Shape, Array Values, bool Binary);

/// <summary>What became of an inference request.</summary>
/// <param name="Outcome">The one outcome vocabulary's verdict; <see cref="Outcome.Invalid"/> and <see cref="Outcome.TooLarge"/> for a request the model cannot take.</param>
/// <param name="Error">Why, when not answered.</param>
/// <param name="RetryAfter">The predicted wait, for work not computed.</param>
/// <param name="Outputs">The outputs asked for, when answered.</param>
/// <param name="AnsweredBy">The fallback model that answered instead of the one asked for; null when that one did.</param>
internal sealed record V2Result(Outcome Outcome, string? Error, TimeSpan RetryAfter, IReadOnlyList<V2Output> Outputs, string? AnsweredBy)
{
    public bool IsOk => Outcome == Outcome.Ok;

    public static V2Result Refused(string error, Outcome outcome = Outcome.Invalid) => new(outcome, error, TimeSpan.Zero, [], null);
}

/// <summary>
/// The Open Inference Protocol (V2) over the served models, for every transport that speaks it
/// (REST, gRPC): metadata and configuration from each model's ONNX signature and model.json,
/// requests checked against that signature (every input by name, datatype and shape; the outputs
/// asked for), and inference through the engine's one path (<see cref="ModelGuard"/>: admission,
/// deadlines, the micro-batcher joining requests along the batch dimension, breaker and fallback).
/// The bundled sensor, yield and wafer models are scored through their endpoints' services, which
/// also feed the prediction sinks. Knows nothing of any transport.
/// </summary>
internal sealed class OpenInferenceService(
    ModelRepository repository,
    ModelGuard guard,
    SensorScoring sensors,
    YieldScoring yields,
    WaferPredictor wafers,
    IOptions<PredictionOptions> predictions,
    IOptions<YieldOptions> yieldOptions,
    IOptions<OpenInferenceOptions> options,
    TimeProvider time)
{
    /// <summary>Triton's platform name for an ONNX Runtime model.</summary>
    public const string Platform = "onnxruntime_onnx";

    private static readonly string ServerVersion =
        typeof(OpenInferenceService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    public V2ServerMetadata ServerMetadata { get; } = new(options.Value.ServerName, ServerVersion, ["binary_tensor_data", "schedule_policy", "model_configuration", "model_repository"]);

    public bool IsReady => repository.IsReady;

    /// <summary>
    /// The served model by name and, if given, version (one its version policy serves); loaded first
    /// when the repository loads on first use; null when there is none.
    /// </summary>
    public async ValueTask<ServedModel?> FindAsync(string name, string? version)
    {
        var model = await repository.FindAsync(name).ConfigureAwait(false);
        if (model is null || version is null or "")
        {
            return model;
        }

        return int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? model.WithVersion(number) : null;
    }

    /// <summary>Whether the model answers now: served, and the server not draining.</summary>
    public bool IsModelReady(ServedModel model) =>
        !repository.IsDraining && repository.TryGet(model.Name, out var current) && (current == model || current.OtherVersions.Contains(model));

    public static string Version(ServedModel model) => model.Version.ToString(CultureInfo.InvariantCulture);

    public static string NotFound(string name, string? version) =>
        version is null or "" ? $"Model '{name}' is not served." : $"Model '{name}' version {version} is not served.";

    public static V2ModelMetadata Metadata(ServedModel model) => new(
        model.Name,
        [.. new[] { model }.Concat(model.OtherVersions).Select(Version)],
        Platform,
        [.. model.Signature.Inputs.Select(Tensor)],
        [.. model.Signature.Outputs.Select(Tensor)]);

    private static V2TensorMetadata Tensor(TensorSpec spec) => new(spec.Name, spec.Type.Name(), spec.Dims);

    /// <summary>The completed configuration, as Triton's model-configuration extension answers it.</summary>
    public V2ModelConfig Config(ServedModel model)
    {
        var manifest = model.Manifest;
        var batching = manifest.Batching;
        var batched = model.Signature.HasBatchDimension;
        static IReadOnlyList<V2TensorConfig> Tensors(IReadOnlyList<TensorConfig>? tensors) =>
            [.. (tensors ?? []).Select(t => new V2TensorConfig(t.Name, "TYPE_" + t.DataType switch { "FP16" => "FP16", "BYTES" => "STRING", var other => other }, t.Dims ?? [], t.Features))];
        return new V2ModelConfig(
            model.Name,
            Platform,
            batched ? batching.MaxBatchSize : 0,
            Tensors(manifest.Inputs),
            Tensors(manifest.Outputs),
            new V2DynamicBatching(
                batching.PreferredBatchSize ?? [],
                (long)(batching.MaxQueueDelayMs * 1000),
                batching.PriorityLevels == 0 ? LatencyClasses.Count : batching.PriorityLevels,
                LatencyClasses.All.ToList().IndexOf(DefaultClass(model)) + 1,
                new V2QueuePolicy(
                    batching.DefaultQueuePolicy?.TimeoutAction.ToUpperInvariant() ?? "REJECT",
                    batching.DefaultQueuePolicy?.DefaultTimeoutMicroseconds ?? 0,
                    batching.DefaultQueuePolicy?.AllowTimeoutOverride ?? true,
                    batching.QueueCapacity),
                batching.Admission,
                model.Signature.CanConcatenate),
            manifest.VersionPolicy ?? new VersionPolicy(Latest: new LatestVersions(1)),
            DefaultClass(model).Name(),
            manifest.Threads,
            manifest.ModelWarmup ?? [new WarmupSample()],
            manifest.Fallback,
            manifest.Threshold,
            manifest.Input is { } input && manifest.Output is { } output ? new V2RowTensors(input.Name, input.Features, output.Name) : null);
    }

    /// <summary>
    /// The request's deadline: the schedule-policy <c>priority</c> picks the latency class (1 the
    /// most urgent, 4 and above the least; 0 keeps <paramref name="deadline"/>'s), its <c>timeout</c>
    /// (microseconds) the due time, as <c>X-Deadline-Ms</c> does.
    /// </summary>
    public string? Schedule(ServedModel model, V2Request request, long arrived, ref Deadline deadline)
    {
        var batching = model.Manifest.Batching;
        if (request.Priority is > 0 and var levelAsked && batching.PriorityLevels > 0 && levelAsked > batching.PriorityLevels)
        {
            return $"parameter priority must be within 1..{batching.PriorityLevels}, the priority levels of model '{model.Name}' (0: its default).";
        }

        // The model's queue policy sets the timeout of a request that gives none, or may not.
        var policy = batching.DefaultQueuePolicy;
        var timeout = policy is { AllowTimeoutOverride: false } || request.TimeoutMicroseconds is null or 0 ? null : request.TimeoutMicroseconds;
        timeout ??= policy?.DefaultTimeoutMicroseconds is > 0 and var byPolicy ? byPolicy : null;
        if (request.Priority is > 0 and var priority)
        {
            var latencyClass = LatencyClasses.All[(int)Math.Min(priority, LatencyClasses.Count) - 1];
            deadline = Deadline.For(latencyClass, arrived, time) with { Client = deadline.Client };
        }

        if (timeout is { } microseconds)
        {
            if (microseconds > RequestDeadline.MaxDeadlineMs * 1000)
            {
                return $"parameter timeout must be at most {RequestDeadline.MaxDeadlineMs * 1000:0} microseconds.";
            }

            var within = Deadline.Within(TimeSpan.FromMicroseconds(microseconds), arrived, time);
            deadline = deadline with { Class = request.Priority is > 0 ? deadline.Class : within.Class, Due = within.Due };
        }

        return null;
    }

    /// <summary>Checks <paramref name="request"/> against the model's signature and scores it.</summary>
    public async ValueTask<V2Result> InferAsync(
        ServedModel model, V2Request request, Deadline deadline, PredictionOrigin origin, CancellationToken cancellationToken)
    {
        if (!IsBundled(model))
        {
            return await RunAsync(model, request, deadline, cancellationToken).ConfigureAwait(false);
        }

        if (Check(model, request, out var rows) is { } refused)
        {
            return refused;
        }

        if (V2Tensors.ConvertTo(request.Inputs[0], TensorType.Fp32, out var converted) is { } badType)
        {
            return V2Result.Refused(badType);
        }

        var input = request.Inputs[0] with { DataType = TensorType.Fp32, Values = converted };
        var values = (float[])converted;
        if (model.Name == yields.ModelName)
        {
            // The limits /predict-yield puts on a process state hold for its rows here too.
            for (var i = 0; i < values.Length; i++)
            {
                if (YieldStateJson.Check(YieldFeatures.Names[i % YieldFeatures.Count], values[i]) is { } bad)
                {
                    return V2Result.Refused($"input '{input.Name}': row {i / YieldFeatures.Count}, {bad}");
                }
            }

            var yield = await yields.ScoreRowsAsync(values, rows, deadline, cancellationToken).ConfigureAwait(false);
            return yield.IsOk
                ? Answer(model, request, rows, yield.Predictions, yield.Model is { } answered && answered.Name != model.Name ? answered.Name : null)
                : NotScored(model, yield.Result);
        }

        if (model.Name == wafers.Options.Model)
        {
            var scores = new float[rows * model.OutputCount];
            var (result, answered) = await wafers.ScoreTensorsAsync(values, scores, deadline, cancellationToken).ConfigureAwait(false);
            return result.IsOk
                ? Answer(model, request, rows, scores, answered is not null && answered.Name != model.Name ? answered.Name : null)
                : NotScored(model, result);
        }

        return await ScoreSensorsAsync(model, request, input, rows, deadline, origin, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The bundled models whose endpoints' services score their V2 requests too (limits, the prediction sinks).</summary>
    private bool IsBundled(ServedModel model) =>
        model.TakesRows && (model.Name == yields.ModelName || model.Name == wafers.Options.Model || SensorScoring.TakesSensorRows(model));

    /// <summary>Any model: every input checked against the signature and converted to its datatype, the outputs asked for, one guarded run.</summary>
    private async ValueTask<V2Result> RunAsync(ServedModel model, V2Request request, Deadline deadline, CancellationToken cancellationToken)
    {
        var signature = model.Signature;
        foreach (var extra in request.Inputs.Where(i => signature.Input(i.Name) is null))
        {
            return V2Result.Refused($"Model '{model.Name}' has no input '{extra.Name}' (its inputs: {string.Join(", ", signature.Inputs.Select(i => i.Name))}).");
        }

        if (request.Inputs.GroupBy(i => i.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            return V2Result.Refused($"input '{twice.Key}' is given more than once.");
        }

        var tensors = new Tensor[signature.Inputs.Count];
        long? rows = null;
        for (var i = 0; i < tensors.Length; i++)
        {
            var spec = signature.Inputs[i];
            if (request.Inputs.FirstOrDefault(r => r.Name == spec.Name) is not { } input)
            {
                return V2Result.Refused($"input '{spec.Name}' is required ({spec}).");
            }

            if (CheckShape(model, spec, input.Shape) is { } badShape)
            {
                return V2Result.Refused(badShape, badShape.Contains("at most", StringComparison.Ordinal) ? Outcome.TooLarge : Outcome.Invalid);
            }

            if (signature.HasBatchDimension && rows is { } first && input.Shape[0] != first)
            {
                return V2Result.Refused($"input '{spec.Name}': {input.Shape[0]} rows; the other inputs have {first}. Every input holds the same rows.");
            }

            rows = input.Shape[0];
            if (V2Tensors.ConvertTo(input, spec.Type, out var values) is { } badType)
            {
                return V2Result.Refused(badType);
            }

            tensors[i] = new Tensor(spec.Name, spec.Type, input.Shape, values);
        }

        var wanted = request.Outputs ?? [.. signature.Outputs.Select(o => new V2RequestedOutput(o.Name, null))];
        foreach (var output in wanted)
        {
            if (signature.Output(output.Name) is null)
            {
                return V2Result.Refused($"Model '{model.Name}' has no output '{output.Name}' (its outputs: {string.Join(", ", signature.Outputs.Select(o => o.Name))}).");
            }
        }

        if (wanted.GroupBy(o => o.Name).FirstOrDefault(g => g.Count() > 1) is { } asked)
        {
            return V2Result.Refused($"output '{asked.Key}' is asked for more than once.");
        }

        var answer = await guard.RunAsync(model, tensors, [.. wanted.Select(o => o.Name)], deadline, cancellationToken).ConfigureAwait(false);
        if (!answer.Result.IsOk)
        {
            return NotScored(model, answer.Result);
        }

        var outputs = answer.Result.Outputs!;
        return new V2Result(
            Outcome.Ok,
            null,
            TimeSpan.Zero,
            [.. wanted.Select((o, i) => new V2Output(o.Name, outputs[i].Type, outputs[i].Shape, outputs[i].Data, o.Binary ?? request.BinaryOutput))],
            answer.Answerer == Answerer.Fallback ? answer.Model?.Name : null);
    }

    /// <summary>Fixed dimensions exact, variable ones any size; a batchable model's rows within 1..max_batch_size.</summary>
    private static string? CheckShape(ServedModel model, TensorSpec spec, long[] shape)
    {
        var dims = spec.Dims;
        if (shape.Length != dims.Length || shape.Where((d, i) => dims[i] >= 0 && d != dims[i] && !(i == 0 && model.Signature.HasBatchDimension)).Any())
        {
            return $"input '{spec.Name}': shape {V2Tensors.Format(shape)} does not match the model's {V2Tensors.Format(dims)} (-1: any size).";
        }

        if (model.Signature.HasBatchDimension)
        {
            if (shape[0] < 1)
            {
                return $"input '{spec.Name}': at least one row is required.";
            }

            if (shape[0] > model.Manifest.Batching.MaxBatchSize)
            {
                return $"input '{spec.Name}': {shape[0]} rows; at most {model.Manifest.Batching.MaxBatchSize} are accepted (max_batch_size).";
            }
        }

        return null;
    }

    /// <summary>The latency class a request to <paramref name="model"/> gets when it names none: its own endpoint's.</summary>
    public LatencyClass DefaultClass(ServedModel model) =>
        model.Manifest.DefaultClass is { } configured ? configured
        : model.Name == yields.ModelName ? Parse(yieldOptions.Value.DefaultClass)
        : model.Name == wafers.Options.Model ? LatencyClass.DefectDetection
        : Parse(predictions.Value.BatchClass);

    private static LatencyClass Parse(string name) => LatencyClasses.TryParse(name, out var latencyClass) ? latencyClass : LatencyClass.ProcessControl;

    private static V2Result NotScored(ServedModel model, ScoreResult result) =>
        new(result.Outcome, result.Outcome.Detail(model.Name, result.Error), result.RetryAfter, [], null);

    private V2Result? Check(ServedModel model, V2Request request, out int rows)
    {
        rows = 0;
        var manifest = model.Manifest;
        var inputName = manifest.Input!.Name;
        if (request.Inputs.Count != 1 || request.Inputs[0].Name != inputName)
        {
            var given = string.Join(", ", request.Inputs.Select(i => $"'{i.Name}'"));
            return V2Result.Refused($"Model '{model.Name}' takes one input, '{inputName}'; the request has {given}.");
        }

        var input = request.Inputs[0];
        var expected = manifest.InputShape;
        if (input.Shape.Length != expected.Count + 1 || !input.Shape.AsSpan(1).SequenceEqual(expected.Select(d => (long)d).ToArray()))
        {
            return V2Result.Refused(
                $"input '{inputName}': shape {V2Tensors.Format(input.Shape)} does not match the model's {V2Tensors.Format([-1, .. expected.Select(d => (long)d)])}.");
        }

        if (input.Shape[0] < 1)
        {
            return V2Result.Refused($"input '{inputName}': at least one row is required.");
        }

        var maxRows = model.Name == yields.ModelName ? yieldOptions.Value.MaxStates
            : model.Name == wafers.Options.Model ? wafers.Options.MaxImagesPerRequest
            : predictions.Value.MaxBatchReadings;
        if (input.Shape[0] > maxRows)
        {
            return V2Result.Refused($"input '{inputName}': {input.Shape[0]} rows; at most {maxRows} are accepted.", Outcome.TooLarge);
        }

        if (request.Outputs is { } outputs)
        {
            foreach (var output in outputs)
            {
                if (output.Name != manifest.Output!.Name)
                {
                    return V2Result.Refused($"Model '{model.Name}' has one output, '{manifest.Output.Name}'; there is no output '{output.Name}'.");
                }
            }

            if (outputs.Count > 1)
            {
                return V2Result.Refused($"output '{manifest.Output!.Name}' is asked for more than once.");
            }
        }

        rows = (int)input.Shape[0];
        return null;
    }

    private async ValueTask<V2Result> ScoreSensorsAsync(
        ServedModel model, V2Request request, V2Input input, int rows, Deadline deadline, PredictionOrigin origin, CancellationToken cancellationToken)
    {
        using var batch = new SensorBatch(rows, time.GetUtcNow());
        var values = (float[])input.Values;
        for (var i = 0; i < rows; i++)
        {
            var row = values.AsSpan(i * SensorFeatures.Count, SensorFeatures.Count);
            batch.Add(new SensorReading(null, null, batch.Received, row[0], row[1], row[2]));
        }

        // No safe default: a V2 answer is the model's output tensor, and a made-up one would look like it.
        var score = await sensors.ScoreAsync(model.Name, batch, deadline, origin, safeDefault: false, cancellationToken).ConfigureAwait(false);
        if (!score.IsOk)
        {
            return NotScored(model, score.Result);
        }

        return Answer(model, request, rows, batch.Scores.ToArray(), score.Fallback ? score.ModelName : null);
    }

    private static V2Result Answer(ServedModel model, V2Request request, int rows, float[] scores, string? answeredBy)
    {
        var name = model.Manifest.Output!.Name;
        var binary = request.Outputs is [{ Binary: { } asked }] ? asked : request.BinaryOutput;
        return new V2Result(Outcome.Ok, null, TimeSpan.Zero, [new V2Output(name, TensorType.Fp32, [rows, model.OutputCount], scores, binary)], answeredBy);
    }
}
