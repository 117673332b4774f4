using RealTimeInference.Fab.Sensors;

namespace RealTimeInference.Fab.Tests.Sensors;

public sealed class SensorSimulatorTests
{
    private static SensorSimulator Create(int seed = 42, double anomalyRate = 0.02, int tools = 5, int sensors = 4) =>
        new(new SensorSimulatorOptions { Seed = seed, AnomalyRate = anomalyRate, Tools = tools, SensorsPerTool = sensors });

    [Fact]
    public void Generate_WithSameSeed_GivesSameSequence()
    {
        var first = Create(seed: 7).Generate(500).ToArray();
        var second = Create(seed: 7).Generate(500).ToArray();

        Assert.Equal(first, second);
    }

    [Fact]
    public void Generate_WithDifferentSeeds_GivesDifferentReadings()
    {
        var first = Create(seed: 7).Generate(50).Select(r => r.Reading.Temperature).ToArray();
        var second = Create(seed: 8).Generate(50).Select(r => r.Reading.Temperature).ToArray();

        Assert.NotEqual(first, second);
        // Not just a shifted copy: almost every reading differs.
        Assert.True(first.Zip(second).Count(pair => pair.First != pair.Second) > first.Length * 0.99);
    }

    [Fact]
    public void NextTick_WritesOneReadingPerChannel_WithDistinctIdsAndTickTimestamp()
    {
        var options = new SensorSimulatorOptions { Tools = 3, SensorsPerTool = 2, Interval = TimeSpan.FromMilliseconds(250) };
        var simulator = new SensorSimulator(options);
        var tick = new LabelledReading[simulator.ChannelCount];

        simulator.NextTick(tick);
        simulator.NextTick(tick);

        Assert.Equal(6, simulator.ChannelCount);
        Assert.Equal(6, tick.Select(r => (r.Reading.ToolId, r.Reading.SensorId)).Distinct().Count());
        Assert.All(tick, r => Assert.Equal(options.Start + TimeSpan.FromMilliseconds(250), r.Reading.Timestamp));
        Assert.Contains(tick, r => r.Reading is { ToolId: "tool-03", SensorId: "sensor-02" });
    }

    [Fact]
    public void NextTick_WithTooSmallDestination_Throws()
    {
        var simulator = Create(tools: 2, sensors: 2);

        Assert.Throws<ArgumentOutOfRangeException>(() => simulator.NextTick(new LabelledReading[3]));
    }

    [Fact]
    public void HealthyReadings_FollowTheDocumentedNormalDistributions()
    {
        var readings = Create(anomalyRate: 0).Generate(2_500).Select(r => r.Reading).ToArray();

        AssertNormal(readings.Select(r => (double)r.Temperature), SensorSimulator.TemperatureMean, SensorSimulator.TemperatureSd);
        AssertNormal(readings.Select(r => (double)r.Pressure), SensorSimulator.PressureMean, SensorSimulator.PressureSd);
        AssertNormal(readings.Select(r => (double)r.FlowRate), SensorSimulator.FlowMean, SensorSimulator.FlowSd);
    }

    [Fact]
    public void Generate_WithZeroAnomalyRate_LabelsNothing()
    {
        Assert.DoesNotContain(Create(anomalyRate: 0).Generate(2_000), r => r.IsAnomaly);
    }

    [Fact]
    public void Generate_WithFullAnomalyRate_IsMostlyAnomalous()
    {
        var readings = Create(anomalyRate: 1).Generate(200).ToArray();

        Assert.True(readings.Count(r => r.IsAnomaly) > readings.Length / 2);
    }

    [Fact]
    public void EveryAnomalyKind_AppearsAndIsLabelled()
    {
        var readings = Create(anomalyRate: 0.03).Generate(2_000).ToArray();
        var byKind = readings.ToLookup(r => r.Anomaly);

        foreach (var kind in Enum.GetValues<AnomalyKind>())
        {
            Assert.True(byKind[kind].Any(), $"{kind} never appeared");
        }

        Assert.All(readings, r => Assert.Equal(r.Anomaly != AnomalyKind.None, r.IsAnomaly));
    }

    [Fact]
    public void AnomalyKinds_MoveTheValuesTheirDocumentationDescribes()
    {
        var readings = Create(anomalyRate: 0.03).Generate(2_000).ToArray();
        SensorReading[] Of(AnomalyKind kind) => [.. readings.Where(r => r.Anomaly == kind).Select(r => r.Reading)];

        // A spike adds 25..60 °C either way; noise could only pull a few back under 10 °C away.
        Assert.True(Of(AnomalyKind.Spike).Count(r => Math.Abs(r.Temperature - SensorSimulator.TemperatureMean) > 10) > Of(AnomalyKind.Spike).Length * 0.95);
        // A drift is only labelled once its offset leaves the 3-SD noise band.
        Assert.True(Of(AnomalyKind.Drift).Average(r => Math.Abs(r.Temperature - SensorSimulator.TemperatureMean)) > 3 * SensorSimulator.TemperatureSd);
        Assert.All(Of(AnomalyKind.StuckAtRail), r => Assert.True(r.Temperature == 0f || r.Pressure == 2000f || r.FlowRate == 0f));
        Assert.True(Of(AnomalyKind.FlowBlockage).Average(r => r.FlowRate) < SensorSimulator.FlowMean - (2 * SensorSimulator.FlowSd));
        Assert.True(Of(AnomalyKind.FlowBlockage).Average(r => r.Pressure) > SensorSimulator.PressureMean + (1.5 * SensorSimulator.PressureSd));
        Assert.True(Of(AnomalyKind.PressureLeak).Average(r => r.Pressure) < SensorSimulator.PressureMean - (2.5 * SensorSimulator.PressureSd));
        Assert.True(Of(AnomalyKind.PressureLeak).Average(r => r.Temperature) < SensorSimulator.TemperatureMean - SensorSimulator.TemperatureSd);
    }

    [Theory]
    [InlineData(0, 4, 0.02)]
    [InlineData(5, 0, 0.02)]
    [InlineData(5, 4, -0.01)]
    [InlineData(5, 4, 1.01)]
    [InlineData(5, 4, double.NaN)]
    public void Constructor_WithInvalidOptions_Throws(int tools, int sensors, double anomalyRate)
    {
        var options = new SensorSimulatorOptions { Tools = tools, SensorsPerTool = sensors, AnomalyRate = anomalyRate };

        Assert.Throws<ArgumentOutOfRangeException>(() => new SensorSimulator(options));
    }

    [Fact]
    public void Constructor_WithNonPositiveInterval_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SensorSimulator(new SensorSimulatorOptions { Interval = TimeSpan.Zero }));
    }

    private static void AssertNormal(IEnumerable<double> values, double mean, double sd)
    {
        var sample = values.ToArray();
        var sampleMean = sample.Average();
        var sampleSd = Math.Sqrt(sample.Sum(v => (v - sampleMean) * (v - sampleMean)) / (sample.Length - 1));

        // 50k draws: the standard error of the mean is 0.0045 SD; these bounds are ~10 standard errors wide.
        Assert.InRange(sampleMean, mean - (0.05 * sd), mean + (0.05 * sd));
        Assert.InRange(sampleSd, sd * 0.97, sd * 1.03);
        // About 68% of a normal sample lies within one SD of the mean.
        var withinOneSd = sample.Count(v => Math.Abs(v - mean) <= sd) / (double)sample.Length;
        Assert.InRange(withinOneSd, 0.66, 0.70);
    }

    [Fact]
    public void SetMeans_MovesOnlyThatToolsReadings_AndKeepsTheNoise()
    {
        var nominal = Create(anomalyRate: 0, tools: 2, sensors: 1);
        var moved = Create(anomalyRate: 0, tools: 2, sensors: 1);
        moved.SetMeans(1, 360f, 1000f, 104f);

        var a = nominal.Generate(20).ToArray();
        var b = moved.Generate(20).ToArray();

        for (var i = 0; i < a.Length; i++)
        {
            var shift = a[i].Reading.ToolId == "tool-02" ? (10f, -13f, 4f) : (0f, 0f, 0f);
            Assert.Equal(a[i].Reading.Temperature + shift.Item1, b[i].Reading.Temperature, 3);
            Assert.Equal(a[i].Reading.Pressure + shift.Item2, b[i].Reading.Pressure, 3);
            Assert.Equal(a[i].Reading.FlowRate + shift.Item3, b[i].Reading.FlowRate, 3);
        }
    }
}
