namespace RealTimeInference.Inference.Scheduling;

/// <summary>
/// When a request's answer stops being useful: its class (which queue it waits in) and its due
/// time as a <see cref="TimeProvider"/> timestamp; and whose request it is, for its place in that queue.
/// </summary>
public readonly record struct Deadline(LatencyClass Class, long Due)
{
    /// <summary>
    /// Who asks (an authenticated key, an address): the clients of a class share its turns fairly, so
    /// one client's flood delays and sheds its own work first. Null: the one anonymous client.
    /// </summary>
    public string? Client { get; init; }

    /// <summary>The class's own budget, counted from <paramref name="start"/>.</summary>
    public static Deadline For(LatencyClass latencyClass, long start, TimeProvider time) =>
        new(latencyClass, start + Ticks(latencyClass.Budget(), time));

    /// <summary>An explicit budget from <paramref name="start"/>, queued with the class that covers it.</summary>
    public static Deadline Within(TimeSpan budget, long start, TimeProvider time) =>
        new(LatencyClasses.ForBudget(budget), start + Ticks(budget, time));

    private static long Ticks(TimeSpan span, TimeProvider time) =>
        (long)(span.TotalSeconds * time.TimestampFrequency);
}
