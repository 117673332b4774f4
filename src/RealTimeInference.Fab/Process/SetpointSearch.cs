namespace RealTimeInference.Fab.Process;

/// <summary>What the search makes of a set of predictions: the setpoints to recommend (none: keep the current ones) and why.</summary>
/// <param name="Recommended">Safe setpoints to move to; null to keep the current ones.</param>
/// <param name="PredictedCurrent">The model's yield for the current setpoints (NaN when it gave none that was usable).</param>
/// <param name="PredictedBest">The model's yield for the best safe candidate (NaN when it gave none that was usable).</param>
/// <param name="Reason">Why, in a few words, for the decision record.</param>
public readonly record struct SearchResult(Setpoints? Recommended, double PredictedCurrent, double PredictedBest, string Reason)
{
    public double PredictedGain => PredictedBest - PredictedCurrent;
}

/// <summary>
/// The optimizer's search, free of any model or transport: candidates around the current setpoints,
/// each at most one step away and inside the safe ranges by construction; then the best of their
/// predicted yields, recommended only when it gains enough. Any prediction that is not a yield
/// (NaN, infinite, outside [0, 1]) means the model is not to be trusted, and nothing is recommended.
/// </summary>
public static class SetpointSearch
{
    /// <summary>Steps tried per setpoint, in units of its largest step.</summary>
    private static readonly double[] Steps = [-1, 0, 1];

    /// <summary>How many setpoints <see cref="Candidates"/> returns: the current ones, then every combination of steps.</summary>
    public static int CandidateCount { get; } = 1 + (int)Math.Pow(Steps.Length, Setpoints.Count);

    /// <summary>
    /// The current setpoints first (as they are: the yield to beat), then every combination of
    /// -1, 0 and +1 steps from them, each clamped into the safe ranges. A current setpoint outside
    /// its range (the ranges were narrowed) is first brought into it.
    /// </summary>
    public static Setpoints[] Candidates(Setpoints current, ProcessLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var centre = limits.Clamp(current);
        var candidates = new Setpoints[CandidateCount];
        candidates[0] = current;
        var k = 1;
        foreach (var t in Steps)
        {
            foreach (var p in Steps)
            {
                foreach (var f in Steps)
                {
                    candidates[k++] = limits.Clamp(new Setpoints(
                        centre.Temperature + (t * limits.MaxStep.Temperature),
                        centre.Pressure + (p * limits.MaxStep.Pressure),
                        centre.Flow + (f * limits.MaxStep.Flow)));
                }
            }
        }

        return candidates;
    }

    /// <summary>
    /// Picks among <paramref name="candidates"/> (from <see cref="Candidates"/>) by their
    /// <paramref name="predictions"/>: the best safe one, when it beats the current setpoints' yield by
    /// at least <paramref name="minGain"/>, or when the current setpoints are outside the safe ranges.
    /// </summary>
    public static SearchResult Choose(IReadOnlyList<Setpoints> candidates, ReadOnlySpan<float> predictions, ProcessLimits limits, double minGain)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(limits);
        if (predictions.Length != candidates.Count || candidates.Count < 2)
        {
            return new SearchResult(null, double.NaN, double.NaN, "the model gave no prediction for some candidates");
        }

        foreach (var prediction in predictions)
        {
            if (!IsYield(prediction))
            {
                return new SearchResult(null, double.NaN, double.NaN, $"the model predicted {prediction}, not a yield in [0, 1]: nothing recommended");
            }
        }

        var best = 1;
        for (var i = 2; i < candidates.Count; i++)
        {
            if (predictions[i] > predictions[best])
            {
                best = i;
            }
        }

        var current = predictions[0];
        var chosen = candidates[best];
        if (!limits.Contains(chosen))
        {
            // Candidates are clamped; this guards the contract against a caller's own list.
            return new SearchResult(null, current, predictions[best], "the best candidate is outside the safe ranges: nothing recommended");
        }

        if (!limits.Contains(candidates[0]))
        {
            return new SearchResult(chosen, current, predictions[best], "the current setpoints are outside the safe ranges");
        }

        return predictions[best] - current >= minGain && chosen != candidates[0]
            ? new SearchResult(chosen, current, predictions[best], "predicted gain at least the minimum")
            : new SearchResult(null, current, predictions[best], "predicted gain below the minimum: keeping the current setpoints");
    }

    private static bool IsYield(float value) => value is >= 0 and <= 1;
}
