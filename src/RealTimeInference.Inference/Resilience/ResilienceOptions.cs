namespace RealTimeInference.Inference.Resilience;

/// <summary>The circuit breaker each model runs behind, and what answers while it is open.</summary>
public sealed class ResilienceOptions
{
    public const string Section = "Inference:Resilience";

    /// <summary>Share of failed model runs, within <see cref="SamplingDuration"/>, that opens the breaker.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Runs within <see cref="SamplingDuration"/> before the ratio counts (at least 2).</summary>
    public int MinimumThroughput { get; set; } = 10;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the breaker stays open before one trial run may close it.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A model run slower than this counts as a failure (a timeout), though its answer is still returned.</summary>
    public TimeSpan SlowRun { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The score answered, marked as a safe default, when neither the model nor its fallback can
    /// answer. 1 flags the reading as anomalous, so the tool is held for review rather than run
    /// blind. Unset: such requests get 500 instead.
    /// </summary>
    public float? SafeDefaultScore { get; set; } = 1f;
}
