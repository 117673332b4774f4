using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

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

    [Fact]
    public async Task ChamberSimulator_Readings_CarryTheirContext_AndAreScoredByTheirChambersOwnModel_AsReadingsDoes()
    {
        var client = server.CreateClient();
        await using var stream = await EventStream.OpenAsync(client, "/stream-predictions?tool_id=etch-02&chamber_id=C");

        for (var i = 0; i < 3; i++)
        {
            var (_, data) = await stream.NextPredictionAsync();
            // The readings this test posts below come on the stream too: the simulator's are the ones asked about.
            while (data.GetProperty("source").GetString() == "http")
            {
                (_, data) = await stream.NextPredictionAsync();
            }

            var context = data.GetProperty("context");
            Assert.Equal("simulator", data.GetProperty("source").GetString());
            Assert.Equal("fdc-etch-02-C", data.GetProperty("model").GetString());
            Assert.Equal("resist-strip", context.GetProperty("recipe").GetString());
            Assert.Contains(context.GetProperty("step").GetString(), new[] { "heat", "strip", "cool" });
            Assert.Matches("^etch-02C-[0-9]{4}$", context.GetProperty("lot_id").GetString());
            Assert.Matches("^W[0-2][0-9]$", context.GetProperty("wafer_id").GetString());
            Assert.Equal(12, data.GetProperty("values").EnumerateObject().Count());

            // POSTed to /readings, the same reading gets the same score from the same model.
            var answer = await (await client.PostAsJsonAsync("/readings", new { context = JsonSerializer.Deserialize<Dictionary<string, string>>(context.GetRawText()), values = data.GetProperty("values") }))
                .Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("fdc-etch-02-C", answer.GetProperty("model").GetString());
            Assert.Equal(data.GetProperty("prediction").GetSingle(), answer.GetProperty("prediction").GetSingle());
        }
    }
}
