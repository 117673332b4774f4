namespace RealTimeInference.Inference.Scheduling;

/// <summary>The tutorial's latency classes, most urgent first; each has a deadline budget.</summary>
public enum LatencyClass
{
    /// <summary>Emergency shutdown decisions: under 100 ms.</summary>
    Emergency,
    /// <summary>Run-to-run process control: under 1 s.</summary>
    ProcessControl,
    /// <summary>Defect detection: under 5 s.</summary>
    DefectDetection,
    /// <summary>Yield forecasting: under 30 s.</summary>
    YieldForecasting,
}

public static class LatencyClasses
{
    public const int Count = 4;

    /// <summary>Every class, most urgent first.</summary>
    public static IReadOnlyList<LatencyClass> All { get; } =
        [LatencyClass.Emergency, LatencyClass.ProcessControl, LatencyClass.DefectDetection, LatencyClass.YieldForecasting];

    public static TimeSpan Budget(this LatencyClass latencyClass) => latencyClass switch
    {
        LatencyClass.Emergency => TimeSpan.FromMilliseconds(100),
        LatencyClass.ProcessControl => TimeSpan.FromSeconds(1),
        LatencyClass.DefectDetection => TimeSpan.FromSeconds(5),
        _ => TimeSpan.FromSeconds(30),
    };

    /// <summary>The wire name: a header value, a metric label.</summary>
    public static string Name(this LatencyClass latencyClass) => latencyClass switch
    {
        LatencyClass.Emergency => "emergency",
        LatencyClass.ProcessControl => "process-control",
        LatencyClass.DefectDetection => "defect-detection",
        _ => "yield-forecasting",
    };

    /// <summary>Reads a wire name, case-insensitively; the tutorial's "emergency-shutdown" is accepted too.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out LatencyClass latencyClass)
    {
        text = text.Trim();
        foreach (var candidate in All)
        {
            if (text.Equals(candidate.Name(), StringComparison.OrdinalIgnoreCase))
            {
                latencyClass = candidate;
                return true;
            }
        }

        latencyClass = LatencyClass.Emergency;
        return text.Equals("emergency-shutdown", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The least urgent class whose budget still covers <paramref name="budget"/>: where an explicit deadline queues.</summary>
    public static LatencyClass ForBudget(TimeSpan budget)
    {
        for (var i = All.Count - 1; i > 0; i--)
        {
            if (All[i - 1].Budget() < budget)
            {
                return All[i];
            }
        }

        return LatencyClass.Emergency;
    }
}
