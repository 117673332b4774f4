using System.Globalization;

namespace RealTimeInference.Training;

/// <summary>The CLI's arguments: <c>--out DIR [--seed N] [--rows N] [--wafers N] [--lots N] [--chamber-rows N] [--chamber-tools N] [--samples DIR]</c>.</summary>
internal sealed record TrainingOptions(
    string OutputDirectory,
    int Seed,
    int TrainRows,
    int WafersPerClass = TrainingOptions.DefaultWafersPerClass,
    string? SamplesDirectory = null,
    int YieldLots = TrainingOptions.DefaultYieldLots,
    int ChamberRows = TrainingOptions.DefaultChamberRows,
    int ChamberTools = TrainingOptions.DefaultChamberTools)
{
    public const int DefaultChamberRows = 40_000;

    /// <summary>The server simulator's cluster tools (Simulator:ChamberTools): one FDC model for each of their chambers.</summary>
    public const int DefaultChamberTools = 2;

    public const int DefaultWafersPerClass = 3_000;
    public const int DefaultYieldLots = 40_000;

    public const int DefaultSeed = 42;
    public const int DefaultTrainRows = 200_000;
    public const int MinimumRows = 1_000;

    public const string Usage =
        "usage: RealTimeInference.Training --out <models dir> [--seed <int>, default 42] [--rows <train rows>, default 200000] [--wafers <training wafers per class>, default 3000] [--lots <training lots for yield-forecast>, default 40000] [--chamber-rows <training readings per chamber FDC model>, default 40000] [--chamber-tools <simulated cluster tools whose chambers get a model>, default 2] [--samples <dir for one wafer PNG per class>]";

    /// <summary>Validation and test sets each get a quarter of the training rows.</summary>
    public int HeldOutRows => Math.Max(TrainRows / 4, MinimumRows);

    public static TrainingOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        string? output = null, samples = null;
        int seed = DefaultSeed, rows = DefaultTrainRows, wafers = DefaultWafersPerClass, lots = DefaultYieldLots, chamberRows = DefaultChamberRows, chamberTools = DefaultChamberTools;
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--out" when value is not null:
                    output = value;
                    break;
                case "--seed" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out seed):
                    break;
                case "--rows" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out rows) && rows >= MinimumRows:
                    break;
                case "--samples" when value is not null:
                    samples = value;
                    break;
                case "--wafers" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out wafers) && wafers >= 10:
                    break;
                case "--lots" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out lots) && lots >= MinimumRows:
                    break;
                case "--chamber-rows" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out chamberRows) && chamberRows >= MinimumRows:
                    break;
                case "--chamber-tools" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out chamberTools) && chamberTools >= 1:
                    break;
                default:
                    error = $"unexpected or invalid argument '{args[i]}'" + (value is null ? "" : $" '{value}'") +
                        $" (--rows, --lots and --chamber-rows must be integers of at least {MinimumRows}, --wafers of at least 10, --chamber-tools of at least 1)";
                    return null;
            }

            i++;
        }

        if (string.IsNullOrWhiteSpace(output))
        {
            error = "--out is required";
            return null;
        }

        error = null;
        return new TrainingOptions(output, seed, rows, wafers, samples, lots, chamberRows, chamberTools);
    }
}
