using System.Globalization;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Server.Predictions;

/// <summary>
/// A request's latency class (<c>X-Latency-Class</c>) and explicit deadline (<c>X-Deadline-Ms</c>,
/// from its arrival); without them the endpoint's default class sets the deadline.
/// </summary>
internal static class RequestDeadline
{
    public const string ClassHeader = "X-Latency-Class";
    public const string DeadlineHeader = "X-Deadline-Ms";

    /// <summary>The longest explicit deadline accepted: 10 minutes.</summary>
    public const double MaxDeadlineMs = 600_000;

    public static FieldError? Read(HttpRequest request, LatencyClass endpointDefault, long arrived, TimeProvider time, out Deadline deadline)
    {
        deadline = default;
        var latencyClass = endpointDefault;
        var named = request.Headers[ClassHeader];
        if (named.Count > 0 && (named.Count > 1 || !LatencyClasses.TryParse(named[0], out latencyClass)))
        {
            return new FieldError(
                ClassHeader, $"{ClassHeader} must be one of {string.Join(", ", LatencyClasses.All.Select(c => c.Name()))}.");
        }

        var explicitMs = request.Headers[DeadlineHeader];
        if (explicitMs.Count == 0)
        {
            deadline = Deadline.For(latencyClass, arrived, time);
            return null;
        }

        if (explicitMs.Count > 1
            || !double.TryParse(explicitMs[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms)
            || !(ms is > 0 and <= MaxDeadlineMs))
        {
            return new FieldError(DeadlineHeader, $"{DeadlineHeader} must be a number of milliseconds within (0, {MaxDeadlineMs:0}].");
        }

        var budget = TimeSpan.FromMilliseconds(ms);
        deadline = named.Count > 0
            ? Deadline.For(latencyClass, arrived, time) with { Due = Deadline.Within(budget, arrived, time).Due }
            : Deadline.Within(budget, arrived, time);
        return null;
    }
}
