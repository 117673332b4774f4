namespace RealTimeInference.Fab.Process;

/// <summary>
/// What a tool's sensors said during its last lot, relative to the recipe: each sensor's mean
/// offset from its setpoint and its standard deviation. Independent of the setpoints themselves,
/// so a candidate recipe keeps the tool's current statistics.
/// </summary>
public readonly record struct SensorStats(
    float TemperatureOffset, float TemperatureSd, float PressureOffset, float PressureSd, float FlowOffset, float FlowSd)
{
    /// <summary>A healthy chamber: no offsets, the simulator's noise.</summary>
    public static SensorStats Healthy { get; } = new(0, 5, 0, 10, 0, 2);
}

/// <summary>A tool as the yield model sees it: recipe setpoints, chamber age (wafers since maintenance) and recent sensor statistics.</summary>
public readonly record struct ProcessState(Setpoints Setpoints, double ChamberAge, SensorStats Sensors);

/// <summary>The one place a process state becomes the yield model's feature row, for training and serving alike.</summary>
public static class YieldFeatures
{
    public const int Count = 10;

    /// <summary>The wire names of the features, as model.json lists them and <c>/predict-yield</c> reads them.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "temperature_setpoint", "pressure_setpoint", "flow_setpoint", "chamber_age",
        "temperature_offset", "temperature_sd", "pressure_offset", "pressure_sd", "flow_offset", "flow_sd",
    ];

    public static void Write(in ProcessState state, Span<float> destination)
    {
        destination[0] = (float)state.Setpoints.Temperature;
        destination[1] = (float)state.Setpoints.Pressure;
        destination[2] = (float)state.Setpoints.Flow;
        destination[3] = (float)state.ChamberAge;
        destination[4] = state.Sensors.TemperatureOffset;
        destination[5] = state.Sensors.TemperatureSd;
        destination[6] = state.Sensors.PressureOffset;
        destination[7] = state.Sensors.PressureSd;
        destination[8] = state.Sensors.FlowOffset;
        destination[9] = state.Sensors.FlowSd;
    }
}
