using RealTimeInference.Fab.Process;

namespace RealTimeInference.Fab.Tests.Process;

public sealed class ProcessSimulatorTests
{
    private static ProcessSimulator Create(int seed = 42, int tools = 3, double anomalyRate = 0.005) =>
        new(new ProcessSimulatorOptions { Seed = seed, Tools = tools, AnomalyRate = anomalyRate });

    private static List<Lot> Run(ProcessSimulator simulator, int steps, Func<int, Setpoints>? recipe = null)
    {
        var lots = new List<Lot>();
        for (var i = 0; i < steps; i++)
        {
            for (var t = 0; t < simulator.ToolCount && recipe is not null; t++)
            {
                simulator.Apply(t, recipe(t));
            }

            lots.AddRange(simulator.Step());
        }

        return lots;
    }

    [Fact]
    public void Step_WithSameSeed_GivesSameLots()
    {
        Assert.Equal(Run(Create(seed: 5), 50), Run(Create(seed: 5), 50));
        Assert.NotEqual(Run(Create(seed: 5), 50).Select(l => l.MeasuredYield), Run(Create(seed: 6), 50).Select(l => l.MeasuredYield));
    }

    [Fact]
    public void Step_MeasuresEachLotAfterTheMetrologyDelay()
    {
        var simulator = Create(tools: 2);

        Assert.Empty(simulator.Step());
        Assert.Empty(simulator.Step());
        var third = simulator.Step();

        Assert.Equal([1L, 1L], third.Select(l => l.Number));
        Assert.Equal(["tool-01", "tool-02"], third.Select(l => l.ToolId));
    }

    [Fact]
    public void Setpoints_MoveTheYieldAndTheSensorMeans_ButNotTheNoise()
    {
        // Without anomaly episodes: a sensor stuck at a rail reads the rail whatever the setpoint.
        var nominal = Run(Create(anomalyRate: 0), 40);
        var moved = Run(Create(anomalyRate: 0), 40, _ => new Setpoints(355, 1005, 101));

        for (var i = 0; i < nominal.Count; i++)
        {
            // The readings moved with the setpoints: their offsets from them are the same noise.
            Assert.Equal(nominal[i].State.Sensors.TemperatureOffset, moved[i].State.Sensors.TemperatureOffset, 2);
            Assert.Equal(nominal[i].State.Sensors.PressureOffset, moved[i].State.Sensors.PressureOffset, 2);
            Assert.Equal(nominal[i].State.Sensors.FlowOffset, moved[i].State.Sensors.FlowOffset, 2);
            Assert.Equal(nominal[i].State.Sensors.TemperatureSd, moved[i].State.Sensors.TemperatureSd, 2);
            Assert.Equal(nominal[i].State.ChamberAge, moved[i].State.ChamberAge);
            var noise = nominal[i].MeasuredYield - nominal[i].ExpectedYield;
            Assert.Equal(noise, moved[i].MeasuredYield - moved[i].ExpectedYield, 9);
        }

        Assert.NotEqual(nominal.Average(l => l.ExpectedYield), moved.Average(l => l.ExpectedYield));
    }

    [Fact]
    public void ChamberAge_GrowsByALotsWafers_AndMaintenanceResetsIt()
    {
        var simulator = new ProcessSimulator(new ProcessSimulatorOptions { Tools = 1, WafersPerLot = 25, MaintenanceWafers = 100 });
        var ages = new List<double>();
        for (var i = 0; i < 8; i++)
        {
            ages.Add(simulator.State(0).ChamberAge);
            simulator.Step();
        }

        var start = ages[0];
        Assert.All(ages, age => Assert.InRange(age, 0, 75));
        Assert.Equal((start + 25) % 100, ages[1]);
        Assert.Contains(0, ages);
    }

    [Fact]
    public void ExpectedYield_PeaksAtTheOptimum_WhichDriftsWithChamberAge()
    {
        var simulator = Create(tools: 1);
        var young = simulator.Optimum(0, 0);
        var old = simulator.Optimum(0, 2_000);

        Assert.NotEqual(young, old);
        Assert.True(simulator.ExpectedYield(0, young, 0) > simulator.ExpectedYield(0, old, 0));
        Assert.True(simulator.ExpectedYield(0, old, 2_000) > simulator.ExpectedYield(0, young, 2_000));
        Assert.True(simulator.ExpectedYield(0, young, 0) > simulator.ExpectedYield(0, Setpoints.Nominal, 0));
        Assert.True(ProcessLimits.Default.Contains(young) && ProcessLimits.Default.Contains(simulator.Optimum(0, 2_500)));
    }

    [Fact]
    public void AnomalyEpisodes_LowerTheMeasuredYield()
    {
        var quiet = Run(new ProcessSimulator(new ProcessSimulatorOptions { Tools = 4, AnomalyRate = 0 }), 200);
        var noisy = Run(new ProcessSimulator(new ProcessSimulatorOptions { Tools = 4, AnomalyRate = 0.05 }), 200);

        Assert.True(noisy.Average(l => l.MeasuredYield - l.ExpectedYield) < quiet.Average(l => l.MeasuredYield - l.ExpectedYield) - 0.02);
    }

    [Fact]
    public void YieldFeatures_WritesTheStateInTheOrderNamesGives()
    {
        var state = new ProcessState(new Setpoints(351, 1010, 99), 125, new SensorStats(0.5f, 5.5f, -1f, 9f, 0.25f, 2.5f));
        var row = new float[YieldFeatures.Count];

        YieldFeatures.Write(state, row);

        Assert.Equal(YieldFeatures.Count, YieldFeatures.Names.Count);
        Assert.Equal([351f, 1010f, 99f, 125f, 0.5f, 5.5f, -1f, 9f, 0.25f, 2.5f], row);
    }
}
