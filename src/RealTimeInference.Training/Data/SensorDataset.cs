using System.Globalization;
using RealTimeInference.Fab.Chambers;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Fab.Traces;

namespace RealTimeInference.Training.Data;

/// <summary>
/// Train, validation and held-out test rows from three independent simulator streams, each with
/// its own seed derived from the run's seed, so no reading (or anomaly episode) is shared between sets.
/// </summary>
/// <param name="Train">Rows to fit on.</param>
/// <param name="Validation">Rows the threshold is chosen on.</param>
/// <param name="Test">Held-out rows the metrics are measured on.</param>
/// <param name="Generator">How the rows were made, for the model's provenance.</param>
/// <param name="Features">The sensors in each row's order: the model's input features.</param>
internal sealed record SensorDataset(
    IReadOnlyList<SensorRow> Train,
    IReadOnlyList<SensorRow> Validation,
    IReadOnlyList<SensorRow> Test,
    string Generator,
    IReadOnlyList<string> Features)
{
    public const int Tools = 20;
    public const int SensorsPerTool = 4;
    public const double AnomalyRate = 0.03;

    /// <summary>Chance per tick that a healthy chamber starts a fault in the training streams: more faults to learn from than the live default.</summary>
    public const double ChamberFaultRate = 0.01;

    public static SensorDataset Create(int seed, int trainRows, int validationRows, int testRows)
    {
        var train = Generate(StreamSeed(seed, 0), trainRows);
        var validation = Generate(StreamSeed(seed, 1), validationRows);
        var test = Generate(StreamSeed(seed, 2), testRows);
        var generator = string.Create(
            CultureInfo.InvariantCulture,
            $"SensorSimulator: {Tools} tools x {SensorsPerTool} sensors, anomaly_rate {AnomalyRate} (episode start chance per reading); " +
            $"stream seeds train {StreamSeed(seed, 0)}, validation {StreamSeed(seed, 1)}, test {StreamSeed(seed, 2)}; " +
            $"labelled anomalous: train {PositiveRate(train):P1}, test {PositiveRate(test):P1}");
        return new SensorDataset(train, validation, test, generator, SensorFeatures.Names);
    }

    /// <summary>
    /// One chamber's rows (the chamber at <paramref name="chamber"/> of <see cref="ChamberSimulator.Chambers"/>
    /// with <paramref name="tools"/> tools), from three chamber simulator streams: what its own FDC model learns.
    /// </summary>
    public static SensorDataset ForChamber(int seed, int tools, int chamber, int trainRows, int heldOutRows)
    {
        SensorRow[] Stream(int stream, int rows) =>
            [.. new ChamberSimulator(new ChamberSimulatorOptions { Tools = tools, FaultRate = ChamberFaultRate, Seed = StreamSeed(seed, stream) })
                .Generate(chamber, rows).Select(SensorRow.From)];

        var (train, validation, test) = (Stream(0, trainRows), Stream(1, heldOutRows), Stream(2, heldOutRows));
        var (tool, chamberId, kind) = new ChamberSimulator(new ChamberSimulatorOptions { Tools = tools }).Chambers[chamber];
        var generator = string.Create(
            CultureInfo.InvariantCulture,
            $"ChamberSimulator: {tool} chamber {chamberId} ({kind.Name}, recipe {kind.Recipe}: {string.Join(", ", kind.Steps.Select(s => s.Name))}; " +
            $"faults {string.Join(", ", kind.Faults.Select(f => f.Name))}), fault_rate {ChamberFaultRate} (start chance per tick); " +
            $"stream seeds train {StreamSeed(seed, 0)}, validation {StreamSeed(seed, 1)}, test {StreamSeed(seed, 2)}; " +
            $"labelled faulty: train {PositiveRate(train):P1}, test {PositiveRate(test):P1}");
        return new SensorDataset(train, validation, test, generator, kind.Sensors);
    }

    /// <summary>
    /// A trace model's feature recipe for a kind of chamber: every sensor's mean, standard deviation and
    /// slope in every step, as <see cref="StepStatistics"/> names them.
    /// </summary>
    public static IReadOnlyList<string> TraceFeatures(ChamberKind kind) =>
        [.. kind.Steps.SelectMany(step => kind.Sensors.SelectMany(sensor => new[] { "mean", "std", "slope" }.Select(stat => $"{step.Name}:{sensor}:{stat}")))];

    /// <summary>
    /// One chamber's wafers (complete runs, cut by <see cref="ChamberTraces"/>), each reduced to
    /// <see cref="TraceFeatures"/> by <see cref="StepStatistics"/> — the code <c>POST /traces</c> runs —
    /// and labelled faulty when the chamber had a fault during it: what its trace model learns.
    /// </summary>
    public static SensorDataset ForChamberTraces(int seed, int tools, int chamber, int trainWafers, int heldOutWafers)
    {
        var (tool, chamberId, kind) = new ChamberSimulator(new ChamberSimulatorOptions { Tools = tools }).Chambers[chamber];
        var features = TraceFeatures(kind);
        SensorRow[] Stream(int stream, int wafers)
        {
            // Enough ticks for the wafers, with a partly run one at each end.
            var simulator = new ChamberSimulator(new ChamberSimulatorOptions { Tools = tools, FaultRate = ChamberFaultRate, Seed = StreamSeed(seed, stream) });
            return [.. ChamberTraces.Collect(simulator.Generate(chamber, (wafers + 2) * kind.WaferTicks)).Take(wafers).Select(wafer => new SensorRow
            {
                Label = wafer.Faulty,
                Features = [.. features.Select(f => (float)(StepStatistics.Compute(wafer.Trace, f, out var error) ?? throw new InvalidOperationException(error)))],
            })];
        }

        var (train, validation, test) = (Stream(0, trainWafers), Stream(1, heldOutWafers), Stream(2, heldOutWafers));
        var generator = string.Create(
            CultureInfo.InvariantCulture,
            $"ChamberSimulator wafer traces at 1 Hz: {tool} chamber {chamberId} ({kind.Name}, recipe {kind.Recipe}), {features.Count} step statistics (StepStatistics); " +
            $"fault_rate {ChamberFaultRate}; stream seeds train {StreamSeed(seed, 0)}, validation {StreamSeed(seed, 1)}, test {StreamSeed(seed, 2)}; " +
            $"wafers with a fault: train {PositiveRate(train):P1}, test {PositiveRate(test):P1}");
        return new SensorDataset(train, validation, test, generator, features);
    }

    /// <summary>Rows of one simulator stream, tick after tick, all channels of a tick together.</summary>
    public static SensorRow[] Generate(int seed, int rows)
    {
        var simulator = new SensorSimulator(new SensorSimulatorOptions
        {
            Tools = Tools,
            SensorsPerTool = SensorsPerTool,
            AnomalyRate = AnomalyRate,
            Seed = seed,
        });
        var ticks = (rows + simulator.ChannelCount - 1) / simulator.ChannelCount;
        return [.. simulator.Generate(ticks).Take(rows).Select(reading => SensorRow.From(reading))];
    }

    // A multiplier keeps the streams of neighbouring run seeds apart (seed 42's validation
    // stream is not seed 43's training stream).
    public static int StreamSeed(int seed, int stream) => unchecked((seed * 7919) + stream);

    private static double PositiveRate(SensorRow[] rows) =>
        rows.Length == 0 ? 0 : rows.Count(row => row.Label) / (double)rows.Length;
}
