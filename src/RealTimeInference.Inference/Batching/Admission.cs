using RealTimeInference.Inference.Outcomes;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// Decides whether new work may queue: not when the batcher stops, the deadline passed or cannot be
/// met, the sampling watermark says no, or the queue is full and nothing less urgent can be shed.
/// Synchronous and clock-free (the caller passes the time), so each rule is testable alone.
/// </summary>
internal sealed class Admission(AdmissionSettings settings, int capacityRows, RunCost cost, long timestampFrequency)
{
    private long _sampled;

    public AdmissionSettings Settings { get; } = settings;

    /// <summary>
    /// <see cref="Outcome.Ok"/> when <paramref name="work"/> may queue, after the victims were moved
    /// from <paramref name="queues"/> into <paramref name="shed"/> (created when there are any);
    /// otherwise why it may not.
    /// </summary>
    public Outcome Admit(ClassQueues queues, BatchWork work, long now, ref List<BatchWork>? shed)
    {
        if (work.Deadline.Due <= now)
        {
            return Outcome.DeadlineExpired;
        }

        // An empty queue always admits, so one request larger than the capacity still runs.
        if (queues.Rows == 0)
        {
            return Outcome.Ok;
        }

        // Earliest deadline first: the work ahead is the more urgent classes' and this client's share of its own.
        if (cost.IsKnown && now + (cost.Predict(queues.RowsAhead(work)).TotalSeconds * timestampFrequency) > work.Deadline.Due)
        {
            return Outcome.DeadlineUnmeetable;
        }

        if (Settings.Policy == AdmissionPolicy.Sample && queues.Rows >= Settings.SampleWatermarkRows
            && ++_sampled % Settings.SampleKeepEvery != 0)
        {
            return Outcome.Sampled;
        }

        var excess = queues.Rows + work.Rows - capacityRows;
        if (excess <= 0)
        {
            return Outcome.Ok;
        }

        // Only work no more urgent than the newcomer may make room for it.
        if (Settings.Policy is not (AdmissionPolicy.ShedOldest or AdmissionPolicy.ShedNewest)
            || queues.RowsSheddableFor(work.Deadline.Class) < excess)
        {
            return Outcome.QueueFull;
        }

        queues.Shed(excess, oldestFirst: Settings.Policy == AdmissionPolicy.ShedOldest, shed ??= []);
        return Outcome.Ok;
    }

    /// <summary>The outcome of work shed to admit other work under this policy.</summary>
    public Outcome ShedOutcome => Settings.Policy == AdmissionPolicy.ShedOldest ? Outcome.ShedOldest : Outcome.ShedNewest;
}
