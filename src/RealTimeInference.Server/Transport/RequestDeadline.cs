using System.Globalization;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Server.Transport;

/// <summary>
/// A request's latency class (<c>X-Latency-Class</c>) and explicit deadline (<c>X-Deadline-Ms</c>,
/// from its arrival); without them the endpoint's default class sets the deadline. The deadline
/// names the request's client (<see cref="ClientIdentity"/>), whose fair share of the queue it joins.
/// </summary>
internal static class RequestDeadline
{
    public const string ClassHeader = "X-Latency-Class";
    public const string DeadlineHeader = "X-Deadline-Ms";

    /// <summary>The longest explicit deadline accepted: 10 minutes.</summary>
    public const double MaxDeadlineMs = 600_000;

    /// <summary>Reads both headers; each one at fault is named. <paramref name="deadline"/> is the endpoint's default on error.</summary>
    public static RequestErrors? Read(HttpRequest request, LatencyClass endpointDefault, long arrived, TimeProvider time, out Deadline deadline)
    {
        RequestErrors? errors = null;
        var latencyClass = endpointDefault;
        var named = request.Headers[ClassHeader];
        if (named.Count > 0 && (named.Count > 1 || !LatencyClasses.TryParse(named[0], out latencyClass)))
        {
            RequestErrors.Add(
                ref errors, ClassHeader, $"{ClassHeader} must be one of {string.Join(", ", LatencyClasses.All.Select(c => c.Name()))}.");
            latencyClass = endpointDefault;
        }

        deadline = Deadline.For(latencyClass, arrived, time) with { Client = ClientIdentity.Of(request.HttpContext) };
        var explicitMs = request.Headers[DeadlineHeader];
        if (explicitMs.Count == 0)
        {
            return errors;
        }

        if (explicitMs.Count > 1
            || !double.TryParse(explicitMs[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms)
            || !(ms is > 0 and <= MaxDeadlineMs))
        {
            RequestErrors.Add(ref errors, DeadlineHeader, $"{DeadlineHeader} must be a number of milliseconds within (0, {MaxDeadlineMs:0}].");
            return errors;
        }

        // A named class keeps its queue; otherwise the budget picks the class that covers it.
        var within = Deadline.Within(TimeSpan.FromMilliseconds(ms), arrived, time);
        deadline = deadline with { Class = named.Count > 0 ? deadline.Class : within.Class, Due = within.Due };
        return errors;
    }
}
