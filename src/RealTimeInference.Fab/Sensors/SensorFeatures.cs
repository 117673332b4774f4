namespace RealTimeInference.Fab.Sensors;

/// <summary>
/// The one place a reading becomes a model's feature row, used by training and serving alike
/// so the two cannot drift apart.
/// </summary>
public static class SensorFeatures
{
    /// <summary>Features per reading, in the order <see cref="Names"/> gives.</summary>
    public const int Count = 3;

    /// <summary>The wire names of the features, as model.json lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["temperature", "pressure", "flow_rate"];

    public static void Write(float temperature, float pressure, float flowRate, Span<float> destination)
    {
        destination[0] = temperature;
        destination[1] = pressure;
        destination[2] = flowRate;
    }

    public static void Write(in SensorReading reading, Span<float> destination) =>
        Write(reading.Temperature, reading.Pressure, reading.FlowRate, destination);
}
