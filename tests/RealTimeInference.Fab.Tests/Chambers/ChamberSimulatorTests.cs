using RealTimeInference.Fab.Chambers;

namespace RealTimeInference.Fab.Tests.Chambers;

public sealed class ChamberSimulatorTests
{
    private static ChamberReading[] Ticks(ChamberSimulatorOptions options, int ticks)
    {
        var simulator = new ChamberSimulator(options);
        var readings = new ChamberReading[ticks * simulator.ChamberCount];
        for (var t = 0; t < ticks; t++)
        {
            simulator.NextTick(readings.AsSpan(t * simulator.ChamberCount, simulator.ChamberCount));
        }

        return readings;
    }

    [Fact]
    public void EveryTool_HasTwoEtchChambersAndAStripChamber_EachWithItsOwnTwelveSensors()
    {
        var chambers = new ChamberSimulator(new ChamberSimulatorOptions { Tools = 2 }).Chambers;

        Assert.Equal(["etch-01/A", "etch-01/B", "etch-01/C", "etch-02/A", "etch-02/B", "etch-02/C"], chambers.Select(c => $"{c.ToolId}/{c.ChamberId}"));
        Assert.All(chambers, c => Assert.Equal(12, c.Kind.Sensors.Count));
        Assert.NotEqual(ChamberKind.Etch.Sensors, ChamberKind.Strip.Sensors);
        Assert.All(new[] { ChamberKind.Etch, ChamberKind.Strip }, kind => Assert.All(kind.Steps, s => Assert.Equal(kind.Sensors.Count, s.Sensors.Count)));
    }

    [Fact]
    public void AChamber_RunsItsRecipesStepsInOrder_WaferAfterWafer_InLotsOf25()
    {
        var etch = Ticks(new ChamberSimulatorOptions { Tools = 1, FaultRate = 0 }, 60 * 26)
            .Where(r => r.ChamberId == "A").ToList();
        var wafers = etch.Select(r => (r.LotId, r.WaferId)).Distinct().ToList();

        // Chamber A starts at the first tick of its first wafer.
        Assert.Equal(("etch-01A-0001", "W01"), wafers[0]);
        Assert.Equal(["stabilize", "main-etch", "over-etch", "purge"], etch.Take(ChamberKind.Etch.WaferTicks).Select(r => r.Step).Distinct());
        Assert.Equal(Enumerable.Range(1, 25).Select(w => $"W{w:D2}"), wafers.Take(25).Select(w => w.WaferId));
        Assert.All(wafers.Take(25), w => Assert.Equal("etch-01A-0001", w.LotId));
        Assert.Equal(("etch-01A-0002", "W01"), wafers[25]);
        Assert.All(etch, r => Assert.Equal("poly-etch", r.Recipe));
    }

    [Fact]
    public void Faults_AreLabelledWhileTheyLast_NumberedOnce_AndMoveTheirSensors()
    {
        var options = new ChamberSimulatorOptions { Tools = 2, FaultRate = 0.02, Seed = 5 };
        var readings = Ticks(options, 3_000);
        var healthy = Ticks(new ChamberSimulatorOptions { Tools = 2, FaultRate = 0, Seed = 5 }, 3_000);

        var starts = readings.Where(r => r.FaultStarts).ToList();
        Assert.NotEmpty(starts);
        Assert.Equal(starts.Count, starts.Select(r => r.Episode).Distinct().Count());
        Assert.All(readings, r => Assert.Equal(r.IsFault, r.Episode > 0));
        Assert.DoesNotContain(healthy, r => r.IsFault);
        foreach (var start in starts)
        {
            var episode = readings.Where(r => r.Episode == start.Episode).ToList();
            var fault = start.Fault!;
            Assert.Contains(fault, (start.ChamberId == "C" ? ChamberKind.Strip : ChamberKind.Etch).Faults);
            Assert.InRange(episode.Count, 1, fault.Ticks);
            Assert.All(episode, r => Assert.Equal((start.ToolId, start.ChamberId, start.Fault), (r.ToolId, r.ChamberId, r.Fault)));
        }
    }

    [Fact]
    public void TheSameSeed_GivesTheSameReadings_AndEveryStreamTheSameChamberOffsets()
    {
        var a = Ticks(new ChamberSimulatorOptions { Seed = 3 }, 200);
        var b = Ticks(new ChamberSimulatorOptions { Seed = 3 }, 200);
        Assert.Equal(a.Select(r => r.Values), b.Select(r => r.Values));

        // A chamber's offsets come from its name: the mean over many healthy ticks of two streams agrees, whatever the seed.
        static double MeanChuck(int seed) =>
            Ticks(new ChamberSimulatorOptions { Seed = seed, FaultRate = 0 }, 5_500).Where(r => r.ChamberId == "A" && r.ToolId == "etch-01" && r.Step == "main-etch").Average(r => r.Values[2]);
        Assert.Equal(MeanChuck(1), MeanChuck(2), 0.05);
    }
}

public sealed class ChamberTracesTests
{
    [Fact]
    public void AChambersReadings_AreCutIntoItsCompleteWafersRuns_WithTheirStepsAndEverySensor()
    {
        var simulator = new ChamberSimulator(new ChamberSimulatorOptions { Tools = 1, FaultRate = 0.01, Seed = 9 });
        // Chamber B starts mid-wafer: its first, partial run is left out.
        var readings = simulator.Generate(1, 20 * ChamberKind.Etch.WaferTicks).ToList();
        var wafers = ChamberTraces.Collect(readings).ToList();

        Assert.Equal(19, wafers.Count);
        Assert.Equal("W02", wafers[0].First.WaferId);
        foreach (var wafer in wafers)
        {
            Assert.Equal(ChamberKind.Etch.Steps.Select(s => s.Name), wafer.Trace.Steps.Select(s => s.Name));
            Assert.Equal(ChamberKind.Etch.Steps.Select(s => (double)s.Ticks), wafer.Trace.Steps.Select(s => s.EndS - s.StartS));
            Assert.Equal(ChamberKind.Etch.Sensors, wafer.Trace.Sensors.Keys);
            Assert.All(wafer.Trace.Sensors.Values, samples => Assert.Equal(ChamberKind.Etch.WaferTicks, samples.Length));
            var own = readings.Where(r => r.LotId == wafer.First.LotId && r.WaferId == wafer.First.WaferId).ToList();
            Assert.Equal(own.Any(r => r.IsFault), wafer.Faulty);
            Assert.Equal(own.Select(r => r.Values[0]), wafer.Trace.Sensors["rf_power"]);
        }

        Assert.Contains(wafers, w => w.Faulty);
        Assert.Contains(wafers, w => !w.Faulty);
    }
}
