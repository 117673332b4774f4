using System.Globalization;

namespace RealTimeInference.Server.Tests.Streaming;

/// <summary>The in-server simulator on, fast, with 2 tools x 2 sensors.</summary>
public sealed class SimulatorFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Simulator:Enabled", "true"),
        new("Simulator:RateHz", "20"),
        new("Simulator:Tools", "2"),
        new("Simulator:SensorsPerTool", "2"),
    ];
}

public sealed class SimulatorTests(SimulatorFixture server) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public async Task Simulator_Readings_AreScoredByTheSensorModelAndStreamedTaggedWithToolSensorAndSource()
    {
        var client = server.CreateClient();
        await using var stream = await EventStream.OpenAsync(client, "/stream-predictions?tool_id=tool-02&sensor_id=sensor-01");

        var lastTimestamp = DateTimeOffset.MinValue;
        for (var i = 0; i < 3; i++)
        {
            var (_, data) = await stream.NextPredictionAsync();
            var reading = data.GetProperty("reading");
            Assert.Equal("simulator", data.GetProperty("source").GetString());
            Assert.Equal("tool-02", reading.GetProperty("tool_id").GetString());
            Assert.Equal("sensor-01", reading.GetProperty("sensor_id").GetString());
            var timestamp = DateTimeOffset.Parse(reading.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture);
            Assert.True(timestamp > lastTimestamp);
            lastTimestamp = timestamp;

            // The same model as /predict gives the same score for the same values.
            var same = await client.PredictAsync(
                reading.GetProperty("temperature").GetSingle(),
                pressure: reading.GetProperty("pressure").GetSingle(),
                flow: reading.GetProperty("flow_rate").GetSingle());
            Assert.Equal(same.GetProperty("prediction").GetSingle(), data.GetProperty("prediction").GetSingle());
        }
    }
}
