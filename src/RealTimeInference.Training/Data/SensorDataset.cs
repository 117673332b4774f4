using System.Globalization;
using RealTimeInference.Fab.Sensors;

namespace RealTimeInference.Training.Data;

/// <summary>
/// Train, validation and held-out test rows from three independent simulator streams, each with
/// its own seed derived from the run's seed, so no reading (or anomaly episode) is shared between sets.
/// </summary>
internal sealed record SensorDataset(
    IReadOnlyList<SensorRow> Train,
    IReadOnlyList<SensorRow> Validation,
    IReadOnlyList<SensorRow> Test,
    string Generator)
{
    public const int Tools = 20;
    public const int SensorsPerTool = 4;
    public const double AnomalyRate = 0.03;

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
        return new SensorDataset(train, validation, test, generator);
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
