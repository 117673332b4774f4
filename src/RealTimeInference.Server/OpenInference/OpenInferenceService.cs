using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Process;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Transport;
using RealTimeInference.Server.Wafers;
using RealTimeInference.Server.Yield;

namespace RealTimeInference.Server.OpenInference;

/// <summary>The output of an answered inference: one FP32 tensor, row-major.</summary>
internal sealed record V2Output(string Name, long[] Shape, float[] Values, bool Binary);

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
/// (REST, gRPC): metadata from each model's model.json and ONNX signature, requests checked
/// against that signature, and inference through the same scoring services as the server's own
/// endpoints (<see cref="SensorScoring"/>: admission, deadlines, micro-batcher, breaker and
/// fallback, the prediction sinks). Knows nothing of any transport.
/// </summary>
internal sealed class OpenInferenceService(
    ModelRepository repository,
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

    /// <summary>The tensor datatype every served model takes and answers.</summary>
    public const string ModelDataType = "FP32";

    private static readonly string ServerVersion =
        typeof(OpenInferenceService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    public V2ServerMetadata ServerMetadata { get; } = new(options.Value.ServerName, ServerVersion, ["binary_tensor_data", "schedule_policy"]);

    public bool IsReady => repository.IsReady;

    /// <summary>The served model by name and, if given, version (only the serving version is); null when there is none.</summary>
    public ServedModel? Find(string name, string? version) =>
        repository.TryGet(name, out var model) && (version is null or "" || version == Version(model)) ? model : null;

    /// <summary>Whether the model answers now: served, and the server not draining.</summary>
    public bool IsModelReady(ServedModel model) => !repository.IsDraining && repository.TryGet(model.Name, out var current) && current == model;

    public static string Version(ServedModel model) => model.Version.ToString(CultureInfo.InvariantCulture);

    public static string NotFound(string name, string? version) =>
        version is null or "" ? $"Model '{name}' is not served." : $"Model '{name}' version {version} is not served.";

    public static V2ModelMetadata Metadata(ServedModel model)
    {
        var manifest = model.Manifest;
        return new V2ModelMetadata(
            model.Name,
            [Version(model)],
            Platform,
            [new V2TensorMetadata(manifest.Input.Name, ModelDataType, [-1, .. manifest.InputShape.Select(d => (long)d)])],
            [new V2TensorMetadata(manifest.Output.Name, ModelDataType, [-1, model.OutputCount])]);
    }

    /// <summary>
    /// The request's deadline: the schedule-policy <c>priority</c> picks the latency class (1 the
    /// most urgent, 4 and above the least; 0 keeps <paramref name="deadline"/>'s), its <c>timeout</c>
    /// (microseconds) the due time, as <c>X-Deadline-Ms</c> does.
    /// </summary>
    public string? Schedule(V2Request request, long arrived, ref Deadline deadline)
    {
        if (request.Priority is > 0 and var priority)
        {
            var latencyClass = LatencyClasses.All[(int)Math.Min(priority, LatencyClasses.Count) - 1];
            deadline = Deadline.For(latencyClass, arrived, time) with { Client = deadline.Client };
        }

        if (request.TimeoutMicroseconds is > 0 and var timeout)
        {
            if (timeout > RequestDeadline.MaxDeadlineMs * 1000)
            {
                return $"parameter timeout must be at most {RequestDeadline.MaxDeadlineMs * 1000:0} microseconds.";
            }

            var within = Deadline.Within(TimeSpan.FromMicroseconds(timeout), arrived, time);
            deadline = deadline with { Class = request.Priority is > 0 ? deadline.Class : within.Class, Due = within.Due };
        }

        return null;
    }

    /// <summary>Checks <paramref name="request"/> against the model's signature and scores it.</summary>
    public async ValueTask<V2Result> InferAsync(
        ServedModel model, V2Request request, Deadline deadline, PredictionOrigin origin, CancellationToken cancellationToken)
    {
        if (Check(model, request, out var rows) is { } refused)
        {
            return refused;
        }

        var input = request.Inputs[0];
        if (model.Name == yields.ModelName)
        {
            // The limits /predict-yield puts on a process state hold for its rows here too.
            for (var i = 0; i < input.Values.Length; i++)
            {
                if (YieldStateJson.Check(YieldFeatures.Names[i % YieldFeatures.Count], input.Values[i]) is { } bad)
                {
                    return V2Result.Refused($"input '{input.Name}': row {i / YieldFeatures.Count}, {bad}");
                }
            }

            var yield = await yields.ScoreRowsAsync(input.Values, rows, deadline, cancellationToken).ConfigureAwait(false);
            return yield.IsOk
                ? Answer(model, request, rows, yield.Predictions, yield.Model is { } answered && answered.Name != model.Name ? answered.Name : null)
                : NotScored(model, yield.Result);
        }

        if (model.Name == wafers.Options.Model)
        {
            var scores = new float[rows * model.OutputCount];
            var (result, answered) = await wafers.ScoreTensorsAsync(input.Values, scores, deadline, cancellationToken).ConfigureAwait(false);
            return result.IsOk
                ? Answer(model, request, rows, scores, answered is not null && answered.Name != model.Name ? answered.Name : null)
                : NotScored(model, result);
        }

        if (SensorScoring.TakesSensorRows(model))
        {
            return await ScoreSensorsAsync(model, request, input, rows, deadline, origin, cancellationToken).ConfigureAwait(false);
        }

        return V2Result.Refused($"Model '{model.Name}' has no scoring service for the Open Inference Protocol.");
    }

    /// <summary>The latency class a request to <paramref name="model"/> gets when it names none: its own endpoint's.</summary>
    public LatencyClass DefaultClass(ServedModel model) =>
        model.Name == yields.ModelName ? Parse(yieldOptions.Value.DefaultClass)
        : model.Name == wafers.Options.Model ? LatencyClass.DefectDetection
        : Parse(predictions.Value.BatchClass);

    private static LatencyClass Parse(string name) => LatencyClasses.TryParse(name, out var latencyClass) ? latencyClass : LatencyClass.ProcessControl;

    private static V2Result NotScored(ServedModel model, ScoreResult result) =>
        new(result.Outcome, result.Outcome.Detail(model.Name, result.Error), result.RetryAfter, [], null);

    private V2Result? Check(ServedModel model, V2Request request, out int rows)
    {
        rows = 0;
        var manifest = model.Manifest;
        var inputName = manifest.Input.Name;
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
                if (output.Name != manifest.Output.Name)
                {
                    return V2Result.Refused($"Model '{model.Name}' has one output, '{manifest.Output.Name}'; there is no output '{output.Name}'.");
                }
            }

            if (outputs.Count > 1)
            {
                return V2Result.Refused($"output '{manifest.Output.Name}' is asked for more than once.");
            }
        }

        rows = (int)input.Shape[0];
        return null;
    }

    private async ValueTask<V2Result> ScoreSensorsAsync(
        ServedModel model, V2Request request, V2Input input, int rows, Deadline deadline, PredictionOrigin origin, CancellationToken cancellationToken)
    {
        using var batch = new SensorBatch(rows, time.GetUtcNow());
        var values = input.Values;
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
        var name = model.Manifest.Output.Name;
        var binary = request.Outputs is [{ Binary: { } asked }] ? asked : request.BinaryOutput;
        return new V2Result(Outcome.Ok, null, TimeSpan.Zero, [new V2Output(name, [rows, model.OutputCount], scores, binary)], answeredBy);
    }
}
