using RealTimeInference.Fab.Traces;

namespace RealTimeInference.Fab.Chambers;

/// <summary>One wafer's run through a chamber as a trace, with the context of its first reading and whether the chamber had a fault during it.</summary>
public sealed record WaferTrace(Trace Trace, ChamberReading First, bool Faulty);

/// <summary>A chamber's readings cut into its wafers' traces, as a tool's trace collector would send them to <c>POST /traces</c>.</summary>
public static class ChamberTraces
{
    /// <summary>
    /// The complete wafer runs in <paramref name="readings"/> (one chamber's, in order, one every
    /// <paramref name="intervalS"/> seconds): each sensor's samples and the steps as they ran. A run cut
    /// off at either end is left out.
    /// </summary>
    public static IEnumerable<WaferTrace> Collect(IEnumerable<ChamberReading> readings, double intervalS = 1)
    {
        var wafer = new List<ChamberReading>();
        foreach (var reading in readings)
        {
            if (wafer.Count > 0 && (reading.WaferId != wafer[0].WaferId || reading.LotId != wafer[0].LotId))
            {
                if (wafer[0].Step == wafer[0].Kind.Steps[0].Name && wafer.Count == wafer[0].Kind.WaferTicks)
                {
                    yield return Build(wafer, intervalS);
                }

                wafer = [];
            }

            wafer.Add(reading);
        }
    }

    private static WaferTrace Build(List<ChamberReading> wafer, double intervalS)
    {
        var steps = new List<TraceStep>();
        for (int start = 0, i = 1; i <= wafer.Count; i++)
        {
            if (i == wafer.Count || wafer[i].Step != wafer[start].Step)
            {
                steps.Add(new TraceStep(wafer[start].Step, start * intervalS, i * intervalS));
                start = i;
            }
        }

        var sensors = wafer[0].Sensors.Select((name, s) => (name, samples: wafer.Select(r => r.Values[s]).ToArray())).ToDictionary(p => p.name, p => p.samples);
        return new WaferTrace(new Trace(steps, intervalS, sensors), wafer[0], wafer.Any(r => r.IsFault));
    }
}
