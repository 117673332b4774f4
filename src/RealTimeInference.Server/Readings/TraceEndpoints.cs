using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Traces;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Readings;

/// <summary>
/// <c>POST /traces</c>: a wafer's run, a time series per sensor with its steps, scored once. Its
/// context routes it to a model as a reading's does; the model's features name the step statistics it
/// takes (<see cref="StepStatistics"/>: <c>main-etch:rf_power:mean</c>), which are computed from the
/// trace and scored as one reading with those values — stored, alerted and charted like any other.
/// </summary>
internal static class TraceEndpoints
{
    private const string Endpoint = "/traces";

    /// <summary>Maps <c>POST /traces</c> into the readings' route group (<see cref="ReadingEndpoints"/>).</summary>
    public static void Map(RouteGroupBuilder group, ReadingOptions options) =>
        group.MapPost(Endpoint, ScoreAsync)
            .WithName("Traces")
            .WithSummary("Score a wafer's run: each sensor's samples and the steps, reduced to the step statistics its model takes")
            .WithDescription(
                "{\"context\", \"interval_s\", \"steps\": [{\"name\", \"start_s\", \"end_s\"}], \"sensors\": {\"rf_power\": [...]}}. The context routes it (Routing:Traces, then Routing:Rules); "
                + "the model's features name step:sensor:mean|std|min|max|slope or step:duration. A step or sensor the model needs and the trace lacks: 400 naming it.")
            .Accepts<TraceRequest>("application/json")
            .WithBodyLimit(options.MaxTraceBytes)
            .WithErrorResponses()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

    private static async Task<Results<Ok<ReadingResponse>, ProblemHttpResult>> ScoreAsync(
        HttpContext context, ReadingScoring scoring, ContextRouter router, RequestMetrics metrics, IOptions<ReadingOptions> options,
        IOptions<PredictionOptions> predictions, TimeProvider time)
    {
        var started = time.GetTimestamp();
        LatencyClasses.TryParse(options.Value.Class, out var endpointClass);
        var errors = RequestDeadline.Read(context.Request, endpointClass, started, time, out var deadline);
        TraceRequest? request = null;
        if (errors is null)
        {
            try
            {
                request = await context.Request.ReadFromJsonAsync(ReadingJsonContext.Default.TraceRequest, context.RequestAborted);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                // InvalidOperationException: not a JSON Content-Type.
                errors = RequestErrors.One("$", $"Send a JSON trace: {ex.Message}");
            }
            catch (BadHttpRequestException ex)
            {
                errors = RequestBody.ReadFailure(context, ex, options.Value.MaxTraceBytes, "The trace is not valid JSON.");
            }
        }

        var trace = errors is null ? Check(request, options.Value.MaxTracePoints, out errors) : null;
        if (trace is null)
        {
            return Refuse(errors!);
        }

        var readingContext = request!.Context!;
        if (router.RouteTrace(readingContext) is not { } name)
        {
            return Refuse(RequestErrors.One("context", $"No routing rule (Routing:Traces, Routing:Rules) names a model for context {readingContext}.", Outcome.NoRoute));
        }

        var (_, layout, why) = await scoring.ResolveAsync(name);
        if (why is not null)
        {
            return Refuse(RequestErrors.One("context", $"Context {readingContext}: {why}", Outcome.NoRoute));
        }

        using var batch = new ReadingBatch(1, time.GetUtcNow());
        var mark = batch.ValueMark;
        foreach (var feature in layout!.Sensors)
        {
            if (StepStatistics.Compute(trace, feature, out var missing) is { } value)
            {
                batch.AddValue(feature, (float)value);
            }
            else
            {
                // The model's feature is no step statistic: its configuration, not the trace, is at fault.
                var field = !StepStatistics.TryParse(feature, out var step, out var sensor, out _) ? "context"
                    : sensor is null || !trace.Steps.Any(s => s.Name == step) ? "steps"
                    : $"sensors.{sensor}";
                errors ??= new RequestErrors(field == "context" ? Outcome.NoRoute : Outcome.Invalid);
                errors.Add(field, $"Model '{name}' takes {feature}: {missing}");
            }
        }

        if (errors is not null)
        {
            return Refuse(errors);
        }

        var timestamp = request.Timestamp is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : (DateTimeOffset?)null;
        batch.Add(timestamp, readingContext, mark);
        var score = await scoring.ScoreAsync(batch, isArray: false, deadline, new PredictionOrigin(PredictionSource.Http, context.TraceIdentifier, started), context.RequestAborted, routed: name);
        var latency = time.GetElapsedTime(started);
        metrics.RecordRequest(Endpoint, deadline.Class, score.Outcome, latency);
        if (ReadingEndpoints.Refusal(context, score, predictions.Value, "Invalid trace") is { } refused)
        {
            return refused;
        }

        return TypedResults.Ok(ReadingAnswers.One(batch, latency.TotalMilliseconds));

        ProblemHttpResult Refuse(RequestErrors refused)
        {
            metrics.RecordRequest(Endpoint, deadline.Class, refused.Outcome, time.GetElapsedTime(started));
            return Problems.Invalid(refused, "Invalid trace");
        }
    }

    /// <summary>The trace, or every field at fault.</summary>
    private static Trace? Check(TraceRequest? request, int maxPoints, out RequestErrors? errors)
    {
        errors = null;
        if (request is null)
        {
            errors = RequestErrors.One("$", "Send a JSON trace object.");
            return null;
        }

        if (request.Context is not { ToolId: { Length: > 0 and <= ReadingJson.MaxNameLength } })
        {
            RequestErrors.Add(ref errors, "context.tool_id", $"context.tool_id is required, 1 to {ReadingJson.MaxNameLength} characters.");
        }

        if (request.IntervalS is not (> 0 and < 3600))
        {
            RequestErrors.Add(ref errors, "interval_s", "interval_s must be the seconds between two samples, above 0 and under 3600.");
        }

        if (request.Steps is not { Count: > 0 } steps)
        {
            RequestErrors.Add(ref errors, "steps", "steps must list at least one step: {\"name\", \"start_s\", \"end_s\"}.");
            steps = [];
        }

        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i] is not { Name: { Length: > 0 }, StartS: { } start, EndS: { } end } || !double.IsFinite(start) || !double.IsFinite(end) || start < 0 || end <= start)
            {
                RequestErrors.Add(ref errors, $"steps[{i}]", $"steps[{i}] needs a name and 0 <= start_s < end_s.");
            }
        }

        if (steps.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            RequestErrors.Add(ref errors, "steps", $"step '{twice.Key}' appears more than once.");
        }

        if (request.Sensors is not { Count: > 0 } sensors)
        {
            RequestErrors.Add(ref errors, "sensors", "sensors must give at least one sensor's samples.");
            sensors = new Dictionary<string, float[]>();
        }
        else if (sensors.Values.Sum(v => (long)(v?.Length ?? 0)) > maxPoints)
        {
            (errors ??= new RequestErrors()).AddTooLarge("sensors", $"A trace holds at most {maxPoints} samples (Readings:MaxTracePoints).");
        }

        foreach (var (sensor, samples) in sensors)
        {
            if (samples is not { Length: > 0 } || !samples.All(float.IsFinite))
            {
                RequestErrors.Add(ref errors, $"sensors.{sensor}", $"sensors.{sensor} must be a non-empty array of finite numbers.");
            }
        }

        return errors is null
            ? new Trace([.. steps.Select(s => new TraceStep(s.Name!, s.StartS!.Value, s.EndS!.Value))], request.IntervalS!.Value, sensors)
            : null;
    }
}
