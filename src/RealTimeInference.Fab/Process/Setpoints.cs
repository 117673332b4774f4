namespace RealTimeInference.Fab.Process;

/// <summary>A tool's recipe setpoints: chamber temperature (°C), pressure (mbar) and gas flow (sccm).</summary>
public readonly record struct Setpoints(double Temperature, double Pressure, double Flow)
{
    public const int Count = 3;

    /// <summary>The recipe as written: the sensor simulator's means.</summary>
    public static Setpoints Nominal { get; } = new(350, 1013, 100);

    /// <summary>The setpoint names, in index order, as configuration and the wire spell them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["temperature", "pressure", "flow"];

    public double this[int index] => index switch
    {
        0 => Temperature,
        1 => Pressure,
        2 => Flow,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>A copy with setpoint <paramref name="index"/> set to <paramref name="value"/>.</summary>
    public Setpoints With(int index, double value) => index switch
    {
        0 => this with { Temperature = value },
        1 => this with { Pressure = value },
        2 => this with { Flow = value },
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public bool IsFinite => double.IsFinite(Temperature) && double.IsFinite(Pressure) && double.IsFinite(Flow);
}

/// <summary>
/// Where a tool may be run and how far one decision may move it: each setpoint's safe range and
/// largest step. Every setpoint the optimizer proposes goes through <see cref="Clamp"/>.
/// </summary>
public sealed record ProcessLimits(Setpoints Min, Setpoints Max, Setpoints MaxStep)
{
    /// <summary>Safe ranges that hold the nominal recipe and every optimum the simulated chambers drift to.</summary>
    public static ProcessLimits Default { get; } = new(new(335, 975, 92), new(365, 1050, 108), new(1.0, 3.0, 0.5));

    /// <summary>Every problem with the limits, each naming its setpoint; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        for (var i = 0; i < Setpoints.Count; i++)
        {
            var name = Setpoints.Names[i];
            if (!double.IsFinite(Min[i]) || !double.IsFinite(Max[i]) || Min[i] > Max[i])
            {
                errors.Add($"SafeRanges:{name}: Min and Max must be finite with Min <= Max (got {Min[i]}..{Max[i]}).");
            }

            if (!double.IsFinite(MaxStep[i]) || MaxStep[i] <= 0)
            {
                errors.Add($"MaxStep:{name} must be a positive number (got {MaxStep[i]}).");
            }
        }

        return errors;
    }

    /// <summary>Whether every setpoint lies in its safe range (NaN does not).</summary>
    public bool Contains(Setpoints setpoints)
    {
        for (var i = 0; i < Setpoints.Count; i++)
        {
            if (!(setpoints[i] >= Min[i] && setpoints[i] <= Max[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Each setpoint pulled into its safe range; a NaN one goes to the middle of it.</summary>
    public Setpoints Clamp(Setpoints setpoints)
    {
        var clamped = setpoints;
        for (var i = 0; i < Setpoints.Count; i++)
        {
            var value = double.IsNaN(setpoints[i]) ? (Min[i] + Max[i]) / 2 : Math.Clamp(setpoints[i], Min[i], Max[i]);
            clamped = clamped.With(i, value);
        }

        return clamped;
    }
}
