using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Process;

namespace RealTimeInference.Server.Optimizer;

/// <summary>What the optimizer does with its recommendations.</summary>
internal enum OptimizerMode
{
    /// <summary>No cycles run; recommendations are still answered on request.</summary>
    Off,
    /// <summary>Recommendations wait for <c>POST /optimizer/tools/{tool_id}/apply</c>.</summary>
    Advisory,
    /// <summary>Recommendations are applied to the tool at once.</summary>
    ClosedLoop,
}

internal static class OptimizerModes
{
    public static IReadOnlyList<string> Names { get; } = ["off", "advisory", "closed-loop"];

    public static string Name(this OptimizerMode mode) => Names[(int)mode];

    public static bool TryParse(string? text, out OptimizerMode mode)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (string.Equals(Names[i], text?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                mode = (OptimizerMode)i;
                return true;
            }
        }

        mode = OptimizerMode.Off;
        return false;
    }
}

/// <summary>One setpoint's safe operating range.</summary>
public sealed class SafeRange
{
    public double Min { get; set; }

    public double Max { get; set; }
}

/// <summary>The safe ranges, per setpoint (<c>Optimizer:SafeRanges:temperature:Min</c>, ...).</summary>
public sealed class SafeRanges
{
    public SafeRange Temperature { get; set; } = new() { Min = ProcessLimits.Default.Min.Temperature, Max = ProcessLimits.Default.Max.Temperature };

    public SafeRange Pressure { get; set; } = new() { Min = ProcessLimits.Default.Min.Pressure, Max = ProcessLimits.Default.Max.Pressure };

    public SafeRange Flow { get; set; } = new() { Min = ProcessLimits.Default.Min.Flow, Max = ProcessLimits.Default.Max.Flow };
}

/// <summary>The largest move of each setpoint in one decision (<c>Optimizer:MaxStep:temperature</c>, ...).</summary>
public sealed class MaxSteps
{
    public double Temperature { get; set; } = ProcessLimits.Default.MaxStep.Temperature;

    public double Pressure { get; set; } = ProcessLimits.Default.MaxStep.Pressure;

    public double Flow { get; set; } = ProcessLimits.Default.MaxStep.Flow;
}

public sealed class OptimizerOptions
{
    public const string Section = "Optimizer";

    /// <summary>off, advisory or closed-loop; changeable at run time with <c>PUT /optimizer/mode</c>.</summary>
    public string Mode { get; set; } = "advisory";

    /// <summary>Time between two cycles (a decision for every tool).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The least predicted yield gain (a fraction: 0.002 is 0.2 yield points) worth moving a recipe for.</summary>
    public double MinGain { get; set; } = 0.002;

    public SafeRanges SafeRanges { get; set; } = new();

    public MaxSteps MaxStep { get; set; } = new();

    /// <summary>Points of each tool's history (decisions) kept for the dashboard.</summary>
    public int History { get; set; } = 360;

    public ProcessLimits ToLimits() => new(
        new Setpoints(SafeRanges.Temperature.Min, SafeRanges.Pressure.Min, SafeRanges.Flow.Min),
        new Setpoints(SafeRanges.Temperature.Max, SafeRanges.Pressure.Max, SafeRanges.Flow.Max),
        new Setpoints(MaxStep.Temperature, MaxStep.Pressure, MaxStep.Flow));
}

/// <summary>Names every setting at fault, so a bad range stops the server at start with the setting to fix.</summary>
internal sealed class OptimizerOptionsValidator : IValidateOptions<OptimizerOptions>
{
    public ValidateOptionsResult Validate(string? name, OptimizerOptions options)
    {
        var limits = options.ToLimits();
        var errors = limits.Validate().Select(e => $"{OptimizerOptions.Section}:{e}").ToList();
        if (errors.Count == 0 && !limits.Contains(Setpoints.Nominal))
        {
            // The simulated tools start at the nominal recipe: they must start inside the ranges.
            errors.Add($"Optimizer:SafeRanges must hold the tools' starting recipe (temperature {Setpoints.Nominal.Temperature}, pressure {Setpoints.Nominal.Pressure}, flow {Setpoints.Nominal.Flow}).");
        }

        if (!OptimizerModes.TryParse(options.Mode, out _))
        {
            errors.Add($"Optimizer:Mode must be one of {string.Join(", ", OptimizerModes.Names)}.");
        }

        if (options.Interval < TimeSpan.FromMilliseconds(10) || options.Interval > TimeSpan.FromDays(1))
        {
            errors.Add("Optimizer:Interval must be within 00:00:00.01..1.00:00:00.");
        }

        if (!(options.MinGain is >= 0 and <= 1))
        {
            errors.Add("Optimizer:MinGain must be within [0, 1].");
        }

        if (options.History is < 1 or > 100_000)
        {
            errors.Add("Optimizer:History must be within 1..100000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
