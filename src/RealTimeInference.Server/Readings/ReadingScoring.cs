using System.Runtime.InteropServices;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tensors;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Readings;

/// <summary>What became of a batch of readings with context.</summary>
/// <param name="Outcome">Ok, or why not: <see cref="Outcome.NoRoute"/> and <see cref="Outcome.Invalid"/> with <paramref name="Errors"/>, else the engine's.</param>
/// <param name="Errors">The readings at fault, for a request no model could take.</param>
/// <param name="Result">The first failed run, for an engine outcome: its error and predicted wait.</param>
/// <param name="Model">The model of that failed run.</param>
internal readonly record struct ReadingScore(Outcome Outcome, RequestErrors? Errors, ScoreResult Result, string? Model)
{
    public bool IsOk => Outcome == Outcome.Ok;
}

/// <summary>
/// Scores readings with their context for every way they arrive: each reading routed by its context
/// (<see cref="ContextRouter"/>) to its model, loaded on first use; its values placed in the model's
/// inputs by sensor name (<see cref="ReadingLayout"/>, every missing and extra one named); the rows of
/// each model run together through its guard and micro-batcher, at most <c>max_batch_size</c> a run,
/// all models at once; and, only when every run answered, the scores handed to the sinks — a failed
/// request leaves nothing half-stored for its retry to double.
/// </summary>
internal sealed class ReadingScoring(ContextRouter router, ModelRepository repository, ModelGuard guard, IEnumerable<IPredictionSink> sinks, TimeProvider time)
{
    private readonly IPredictionSink[] _sinks = [.. sinks];

    /// <param name="batch">The readings; their scores and answering models are written into it.</param>
    /// <param name="isArray">Whether the request was an array: errors name <c>[i].field</c>, else <c>field</c>.</param>
    /// <param name="deadline">When the answer stops being useful.</param>
    /// <param name="origin">Where the readings came from, for the sinks.</param>
    /// <param name="cancellationToken">The caller went away.</param>
    /// <param name="routed">The model every reading goes to, routed already (a trace's, by <see cref="ContextRouter.RouteTrace"/>); null: each reading's by its context.</param>
    public async ValueTask<ReadingScore> ScoreAsync(
        ReadingBatch batch, bool isArray, Deadline deadline, PredictionOrigin origin, CancellationToken cancellationToken, string? routed = null)
    {
        if (repository.IsDraining)
        {
            return new ReadingScore(Outcome.Unavailable, null, new ScoreResult(Outcome.Unavailable), null);
        }

        batch.PrepareScores();
        if ((routed is null ? Route(batch) : new() { [routed] = [.. Enumerable.Range(0, batch.Count)] }) is not { } groups)
        {
            return Refused(batch, isArray);
        }

        RequestErrors? errors = null;
        var runs = new List<Run>(groups.Count);
        foreach (var (name, rows) in groups)
        {
            var (model, layout, why) = await ResolveAsync(name).ConfigureAwait(false);
            if (why is not null)
            {
                Refuse(ref errors, isArray, rows, batch.Readings[rows[0]], why);
                continue;
            }

            var size = layout!.RowsPerRun;
            for (var start = 0; start < rows.Count; start += size)
            {
                runs.Add(new Run(model!, layout, CollectionsMarshal.AsSpan(rows).Slice(start, Math.Min(size, rows.Count - start)).ToArray()));
            }
        }

        if (errors is not null)
        {
            return new ReadingScore(errors.Outcome, errors, default, null);
        }

        var invalid = new RequestErrors();
        foreach (var run in runs)
        {
            run.Inputs = Fill(run, batch, isArray, invalid);
        }

        if (invalid.Errors.Count > 0)
        {
            return new ReadingScore(Outcome.Invalid, invalid, default, null);
        }

        var answers = new GuardedScore[runs.Count];
        if (runs.Count == 1)
        {
            answers[0] = await guard.RunAsync(runs[0].Model, runs[0].Inputs!, runs[0].Layout.Outputs, deadline, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var pending = runs.Select(r => guard.RunAsync(r.Model, r.Inputs!, r.Layout.Outputs, deadline, cancellationToken).AsTask()).ToArray();
            await Task.WhenAll(pending).ConfigureAwait(false);
            for (var i = 0; i < pending.Length; i++)
            {
                answers[i] = pending[i].Result;
            }
        }

        for (var i = 0; i < runs.Count; i++)
        {
            if (!answers[i].Result.IsOk)
            {
                return new ReadingScore(answers[i].Result.Outcome, null, answers[i].Result, runs[i].Model.Name);
            }
        }

        var latency = time.GetElapsedTime(origin.Started);
        origin.Receipt?.ExpectChunks(runs.Count);
        var scoredRuns = new ScoredRun[runs.Count];
        for (var i = 0; i < runs.Count; i++)
        {
            var answered = answers[i].Model ?? runs[i].Model;
            Write(batch, runs[i].Rows, answers[i].Result.Outputs![0], answered, fallback: answered != runs[i].Model);
            scoredRuns[i] = new ScoredRun(answered, runs[i].Rows, Continues: i > 0 && runs[i].Model == runs[i - 1].Model);
        }

        // The sinks take the request at once: each takes its locks once a request, not once a model run.
        var scored = new ScoredReadings(origin, deadline.Class, batch, scoredRuns, latency);
        foreach (var sink in _sinks)
        {
            sink.Publish(scored);
        }

        return new ReadingScore(Outcome.Ok, null, new ScoreResult(Outcome.Ok), null);
    }

    /// <summary>The model a routed name serves (loaded on first use) and how it takes readings; why not, when it cannot.</summary>
    public async ValueTask<(ServedModel? Model, ReadingLayout? Layout, string? Why)> ResolveAsync(string name)
    {
        if (await repository.FindAsync(name).ConfigureAwait(false) is not { } model)
        {
            return (null, null, $"the context routes to model '{name}', which is not served.");
        }

        return ReadingLayout.For(model, out var why) is { } layout ? (model, layout, null) : (model, null, why);
    }

    /// <summary>The readings by the model their context routes to, in request order; null when any has no route.</summary>
    private Dictionary<string, List<int>>? Route(ReadingBatch batch)
    {
        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var readings = batch.Readings;
        for (var i = 0; i < readings.Length; i++)
        {
            if (router.Route(readings[i].Context) is not { } model)
            {
                return null;
            }

            if (!groups.TryGetValue(model, out var rows))
            {
                groups[model] = rows = [];
            }

            rows.Add(i);
        }

        return groups;
    }

    /// <summary>Every reading no rule routes, named with its context (up to the errors a problem holds).</summary>
    private ReadingScore Refused(ReadingBatch batch, bool isArray)
    {
        var errors = new RequestErrors(Outcome.NoRoute);
        var readings = batch.Readings;
        for (var i = 0; i < readings.Length && !errors.IsFull; i++)
        {
            if (router.Route(readings[i].Context) is null)
            {
                errors.Add(Field(isArray, i, "context"), $"No routing rule (Routing:Rules) names a model for context {readings[i].Context}.");
            }
        }

        return new ReadingScore(Outcome.NoRoute, errors, default, null);
    }

    private static void Refuse(ref RequestErrors? errors, bool isArray, List<int> rows, in ContextReading first, string why)
    {
        errors ??= new RequestErrors(Outcome.NoRoute);
        var more = rows.Count > 1 ? $" ({rows.Count - 1} more readings of the request route there too)" : "";
        errors.Add(Field(isArray, rows[0], "context"), $"Context {first.Context}: {why}{more}");
    }

    /// <summary>The run's input tensors from its readings' values; every missing or extra sensor named in <paramref name="errors"/>.</summary>
    private static Tensor[] Fill(Run run, ReadingBatch batch, bool isArray, RequestErrors errors)
    {
        var layout = run.Layout;
        var rows = run.Rows.Length;
        var inputs = new Tensor[layout.Inputs.Count];
        var data = new float[inputs.Length][];
        for (var i = 0; i < inputs.Length; i++)
        {
            var (spec, sensors) = layout.Inputs[i];
            data[i] = new float[rows * sensors.Length];
            inputs[i] = new Tensor(spec.Name, TensorType.Fp32, spec.Dims.Length == 1 ? [rows] : [rows, sensors.Length], data[i]);
        }

        var filled = layout.Sensors.Count <= 256 ? stackalloc bool[256] : new bool[layout.Sensors.Count];
        filled = filled[..layout.Sensors.Count];
        var readings = batch.Readings;
        for (var r = 0; r < rows; r++)
        {
            var index = run.Rows[r];
            var reading = readings[index];
            var names = batch.Names(reading);
            var values = batch.Values(reading);
            var placed = 0;
            filled.Clear();
            for (var v = 0; v < names.Length; v++)
            {
                // Sent in the model's own order (the usual case), a sensor's place needs no lookup.
                int input, column, sensor;
                if (v < layout.Sensors.Count && (ReferenceEquals(names[v], layout.Sensors[v]) || names[v] == layout.Sensors[v]))
                {
                    (input, column, sensor) = (layout.Places[v].Input, layout.Places[v].Column, v);
                }
                else if (!layout.TryPlace(names[v], out input, out column, out sensor))
                {
                    errors.Add(
                        Field(isArray, index, $"values.{names[v]}"),
                        $"values.{names[v]} is not a sensor of model '{run.Model.Name}' (it reads {string.Join(", ", layout.Sensors)}).");
                    continue;
                }

                var width = layout.Inputs[input].Sensors.Length;
                data[input][(r * width) + column] = values[v];
                placed++;
                filled[sensor] = true;
            }

            if (placed < layout.Sensors.Count)
            {
                for (var s = 0; s < layout.Sensors.Count; s++)
                {
                    if (!filled[s])
                    {
                        errors.Add(Field(isArray, index, $"values.{layout.Sensors[s]}"), $"values.{layout.Sensors[s]} is required by model '{run.Model.Name}'.");
                    }
                }
            }
        }

        return inputs;
    }

    /// <summary>Each reading's score: the last column of its row of the score output.</summary>
    private static void Write(ReadingBatch batch, int[] rows, Tensor output, ServedModel answered, bool fallback)
    {
        var scores = (float[])output.Data;
        var columns = scores.Length / rows.Length;
        for (var r = 0; r < rows.Length; r++)
        {
            batch.Scores[rows[r]] = scores[(r * columns) + columns - 1];
            batch.Models[rows[r]] = answered;
            batch.Fallbacks[rows[r]] = fallback;
        }
    }

    private static string Field(bool isArray, int index, string field) => isArray ? $"[{index}].{field}" : field;

    /// <summary>One model run: the model, how it takes readings, which readings, and their tensors once filled.</summary>
    private sealed class Run(ServedModel model, ReadingLayout layout, int[] rows)
    {
        public ServedModel Model { get; } = model;

        public ReadingLayout Layout { get; } = layout;

        public int[] Rows { get; } = rows;

        public Tensor[]? Inputs { get; set; }
    }
}
