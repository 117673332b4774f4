using System.Globalization;
using Microsoft.ML.Data;
using RealTimeInference.Fab.Process;

namespace RealTimeInference.Training.Yield;

/// <summary>A training row: the feature vector serving builds from the same process state, and the yield metrology measured.</summary>
internal sealed class YieldRow
{
    [VectorType(YieldFeatures.Count)]
    public float[] Features { get; set; } = new float[YieldFeatures.Count];

    public float Label { get; set; }
}

/// <summary>The serving-side schema: features only, so the exported graph's one input is <c>Features</c>.</summary>
internal sealed class YieldFeatureRow
{
    [VectorType(YieldFeatures.Count)]
    public float[] Features { get; set; } = new float[YieldFeatures.Count];
}

/// <summary>
/// Lots from three independent process simulations (train, validation, test), each lot run at
/// setpoints drawn uniformly from the safe ranges, as a designed experiment would: the model must
/// know the whole window, not only the recipe the fab happens to run.
/// </summary>
internal sealed record YieldDataset(IReadOnlyList<YieldRow> Train, IReadOnlyList<YieldRow> Validation, IReadOnlyList<YieldRow> Test, string Generator)
{
    public const int Tools = 40;

    public static YieldDataset Create(int seed, int trainLots)
    {
        var heldOut = Math.Max(trainLots / 4, Tools * 10);
        var train = Generate(StreamSeed(seed, 0), trainLots);
        var validation = Generate(StreamSeed(seed, 1), heldOut);
        var test = Generate(StreamSeed(seed, 2), heldOut);
        var limits = ProcessLimits.Default;
        var generator = string.Create(
            CultureInfo.InvariantCulture,
            $"ProcessSimulator: {Tools} tools a stream, one lot of {new ProcessSimulatorOptions().WafersPerLot} wafers a step, setpoints uniform over the safe ranges " +
            $"(temperature {limits.Min.Temperature}..{limits.Max.Temperature}, pressure {limits.Min.Pressure}..{limits.Max.Pressure}, flow {limits.Min.Flow}..{limits.Max.Flow}); " +
            $"label: measured yield; stream seeds train {StreamSeed(seed, 0)}, validation {StreamSeed(seed, 1)}, test {StreamSeed(seed, 2)}");
        return new YieldDataset(train, validation, test, generator);
    }

    /// <summary>About <paramref name="lots"/> measured lots (whole steps of every tool) from one simulation.</summary>
    public static YieldRow[] Generate(int seed, int lots)
    {
        var simulator = new ProcessSimulator(new ProcessSimulatorOptions { Tools = Tools, Seed = seed });
        var limits = ProcessLimits.Default;
        var random = new Random(seed);
        var rows = new List<YieldRow>(lots + Tools);
        while (rows.Count < lots)
        {
            for (var t = 0; t < Tools; t++)
            {
                simulator.Apply(t, new Setpoints(Draw(random, limits, 0), Draw(random, limits, 1), Draw(random, limits, 2)));
            }

            foreach (var lot in simulator.Step())
            {
                var row = new YieldRow { Label = (float)lot.MeasuredYield };
                YieldFeatures.Write(lot.State, row.Features);
                rows.Add(row);
            }
        }

        return [.. rows];
    }

    public static int StreamSeed(int seed, int stream) => unchecked((seed * 7919) + 100 + stream);

    private static double Draw(Random random, ProcessLimits limits, int i) => limits.Min[i] + (random.NextDouble() * (limits.Max[i] - limits.Min[i]));
}
