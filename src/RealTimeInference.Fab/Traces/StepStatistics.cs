namespace RealTimeInference.Fab.Traces;

/// <summary>One step of a wafer's run: its name and when it ran, in seconds from the trace's start (end excluded).</summary>
public sealed record TraceStep(string Name, double StartS, double EndS);

/// <summary>A wafer's run: each sensor's samples, one every <see cref="IntervalS"/> seconds from the start, and the steps.</summary>
public sealed record Trace(IReadOnlyList<TraceStep> Steps, double IntervalS, IReadOnlyDictionary<string, float[]> Sensors);

/// <summary>
/// The feature recipe of a trace model: each of its features names one statistic of one sensor in one
/// step, <c>step:sensor:statistic</c> (<c>main-etch:rf_power:mean</c>), or a step's length,
/// <c>step:duration</c>. The statistics are <c>mean</c>, <c>std</c> (sample), <c>min</c>, <c>max</c> and
/// <c>slope</c> (least squares, per second). The one implementation, for training and serving alike.
/// </summary>
public static class StepStatistics
{
    public static IReadOnlyList<string> Statistics { get; } = ["mean", "std", "min", "max", "slope"];

    /// <summary>A feature's parts; false when the name is not <c>step:sensor:statistic</c> or <c>step:duration</c>.</summary>
    public static bool TryParse(string feature, out string step, out string? sensor, out string statistic)
    {
        var parts = feature.Split(':');
        (step, sensor, statistic) = parts switch
        {
            [var s, "duration"] => (s, null, "duration"),
            [var s, var name, var stat] when Statistics.Contains(stat) => (s, name, stat),
            _ => ("", null, ""),
        };
        return statistic.Length > 0 && step.Length > 0 && sensor is not "";
    }

    /// <summary>The value of <paramref name="feature"/> for <paramref name="trace"/>; null, with why, when the trace cannot give it.</summary>
    public static double? Compute(Trace trace, string feature, out string? error)
    {
        error = null;
        if (!TryParse(feature, out var stepName, out var sensor, out var statistic))
        {
            error = $"'{feature}' is not a step statistic (step:sensor:mean|std|min|max|slope, or step:duration).";
            return null;
        }

        if (trace.Steps.FirstOrDefault(s => s.Name == stepName) is not { } step)
        {
            error = $"the trace has no step '{stepName}' (its steps: {string.Join(", ", trace.Steps.Select(s => s.Name))}).";
            return null;
        }

        if (sensor is null)
        {
            return step.EndS - step.StartS;
        }

        if (!trace.Sensors.TryGetValue(sensor, out var samples))
        {
            error = $"the trace has no sensor '{sensor}'.";
            return null;
        }

        // The samples at t = i * interval within [start, end).
        var first = (int)Math.Ceiling((step.StartS / trace.IntervalS) - 1e-9);
        var last = Math.Min(samples.Length, (int)Math.Ceiling((step.EndS / trace.IntervalS) - 1e-9)) - 1;
        var count = last - first + 1;
        if (first < 0 || count < 1)
        {
            error = $"sensor '{sensor}' has no sample in step '{stepName}'.";
            return null;
        }

        var span = samples.AsSpan(first, count);
        switch (statistic)
        {
            case "min":
                return Min(span);
            case "max":
                return Max(span);
        }

        double sum = 0;
        foreach (var x in span)
        {
            sum += x;
        }

        var mean = sum / count;
        if (statistic == "mean")
        {
            return mean;
        }

        double squares = 0, timeSquares = 0, cross = 0;
        var centre = (count - 1) / 2.0;
        for (var i = 0; i < count; i++)
        {
            var d = span[i] - mean;
            squares += d * d;
            var t = i - centre;
            timeSquares += t * t;
            cross += t * d;
        }

        return statistic == "std"
            ? count > 1 ? Math.Sqrt(squares / (count - 1)) : 0
            : timeSquares > 0 ? cross / timeSquares / trace.IntervalS : 0;
    }

    private static double Min(ReadOnlySpan<float> span)
    {
        var min = span[0];
        foreach (var x in span)
        {
            min = Math.Min(min, x);
        }

        return min;
    }

    private static double Max(ReadOnlySpan<float> span)
    {
        var max = span[0];
        foreach (var x in span)
        {
            max = Math.Max(max, x);
        }

        return max;
    }
}
