using RealTimeInference.Fab.Sensors;

namespace RealTimeInference.Fab.Tests.Sensors;

public sealed class SensorFeaturesTests
{
    [Fact]
    public void Write_PutsFeaturesInTheOrderNamesGives()
    {
        var reading = new SensorReading("tool-01", "sensor-01", DateTimeOffset.UnixEpoch, 351.5f, 1012.25f, 99.75f);
        Span<float> row = stackalloc float[SensorFeatures.Count];

        SensorFeatures.Write(reading, row);

        Assert.Equal(["temperature", "pressure", "flow_rate"], SensorFeatures.Names);
        Assert.Equal([351.5f, 1012.25f, 99.75f], row.ToArray());
    }
}
