using RealTimeInference.Fab.Chambers;
using Microsoft.ML;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;

namespace RealTimeInference.Training.Trainers;

/// <summary>
/// The two sensor anomaly models. Both train single-threaded from a fixed seed so that a re-run
/// reproduces the same model, and both end in a calibrated <c>Probability</c> column.
/// </summary>
internal static class SensorTrainers
{
    public const string FeatureColumn = "Features";
    public const string LabelColumn = "Label";
    public const string ProbabilityColumn = "Probability";

    public const string TreesName = "sensor-anomaly";
    public const string LinearName = "sensor-anomaly-lite";

    private const int Trees = 100, Leaves = 16, MinimumLeafRows = 20;
    private const double LearningRate = 0.2;

    public static ModelSpec GradientBoostedTrees { get; } = new(
        TreesName,
        "Chamber sensor anomaly classifier: gradient-boosted trees over [temperature, pressure, flow_rate], " +
        "Platt-calibrated probability that the reading is anomalous (spike, drift, stuck-at-rail, flow blockage, pressure leak).",
        $"FastTreeBinary(trees={Trees}, leaves={Leaves}, min_leaf_rows={MinimumLeafRows}, learning_rate={LearningRate}, threads=1) with Platt calibration",
        LinearName,
        (ml, seed) => ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
        {
            LabelColumnName = LabelColumn,
            FeatureColumnName = FeatureColumn,
            NumberOfTrees = Trees,
            NumberOfLeaves = Leaves,
            MinimumExampleCountPerLeaf = MinimumLeafRows,
            LearningRate = LearningRate,
            NumberOfThreads = 1,
            Seed = seed,
        }));

    // A linear score is monotone in each feature, so it cannot flag both a high and a low
    // excursion of the same sensor: it is the fast fallback, not the accurate model.
    public static ModelSpec Linear { get; } = new(
        LinearName,
        "Chamber sensor anomaly classifier, fast variant and fallback: logistic regression over mean/variance-normalized " +
        "[temperature, pressure, flow_rate]. Linear in each feature, so weaker on two-sided excursions than sensor-anomaly.",
        "NormalizeMeanVariance then LbfgsLogisticRegression(l2=1, threads=1)",
        null,
        (ml, _) => ml.Transforms.NormalizeMeanVariance(FeatureColumn)
            .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
            {
                LabelColumnName = LabelColumn,
                FeatureColumnName = FeatureColumn,
                L2Regularization = 1f,
                NumberOfThreads = 1,
            })));

    public static IReadOnlyList<ModelSpec> All { get; } = [GradientBoostedTrees, Linear];

    /// <summary>
    /// The FDC model of one chamber, <c>fdc-&lt;tool&gt;-&lt;chamber&gt;</c> (the name the default routing
    /// rule's template gives its readings): the trees, over the chamber's own sensors, trained on its own readings.
    /// </summary>
    public static ModelSpec ForChamber(string toolId, string chamberId, ChamberKind kind) => GradientBoostedTrees with
    {
        Name = $"fdc-{toolId}-{chamberId}",
        Description =
            $"Fault detection for chamber {chamberId} of {toolId} ({kind.Name}, recipe {kind.Recipe}): gradient-boosted trees over its {kind.Sensors.Count} sensors, " +
            $"Platt-calibrated probability that the chamber has a fault ({string.Join(", ", kind.Faults.Select(f => f.Name))}), trained on this chamber's own readings.",
        Fallback = null,
    };

    /// <summary>The trace model of one chamber, <c>fdc-trace-&lt;tool&gt;-&lt;chamber&gt;</c> (the default Routing:Traces rule's): the trees over its wafers' step statistics.</summary>
    public static ModelSpec ForChamberTraces(string toolId, string chamberId, ChamberKind kind) => GradientBoostedTrees with
    {
        Name = $"fdc-trace-{toolId}-{chamberId}",
        Description =
            $"Wafer-level fault detection for chamber {chamberId} of {toolId} ({kind.Name}, recipe {kind.Recipe}): gradient-boosted trees over each sensor's mean, " +
            "standard deviation and slope in each step of the wafer's run (POST /traces computes them), Platt-calibrated probability that the chamber had a fault during the wafer.",
        Fallback = null,
    };
}
