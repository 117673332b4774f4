using RealTimeInference.Training.Evaluation;

namespace RealTimeInference.Training.Tests.Evaluation;

public sealed class BinaryMetricsTests
{
    // Reference: four rows, hand-computed. Positives score 0.35 and 0.8, negatives 0.1 and 0.4.
    // Of the four (positive, negative) pairs, three rank the positive higher: AUC = 0.75.
    private static readonly float[] Scores = [0.1f, 0.4f, 0.35f, 0.8f];
    private static readonly bool[] Labels = [false, false, true, true];

    [Fact]
    public void Compute_MatchesHandComputedReference()
    {
        var metrics = BinaryMetrics.Compute(Scores, Labels, threshold: 0.5);

        // Only 0.8 is called anomalous: TP 1, FP 0, TN 2, FN 1.
        Assert.Equal((1, 0, 2, 1), (metrics.TruePositives, metrics.FalsePositives, metrics.TrueNegatives, metrics.FalseNegatives));
        Assert.Equal(0.75, metrics.Auc, 12);
        Assert.Equal(1.0, metrics.Precision, 12);
        Assert.Equal(0.5, metrics.Recall, 12);
        Assert.Equal(2.0 / 3.0, metrics.F1, 12);
        Assert.Equal(0.75, metrics.Accuracy, 12);
    }

    [Fact]
    public void Compute_CallsAScoreEqualToTheThresholdAnomalous()
    {
        var metrics = BinaryMetrics.Compute(Scores, Labels, threshold: 0.35f);

        // 0.35, 0.4 and 0.8 are called: TP 2, FP 1 -> precision 2/3, recall 1, F1 0.8.
        Assert.Equal((2, 1), (metrics.TruePositives, metrics.FalsePositives));
        Assert.Equal(0.8, metrics.F1, 12);
    }

    [Fact]
    public void AreaUnderRoc_CountsTiesAsHalf()
    {
        Assert.Equal(0.5, BinaryMetrics.AreaUnderRoc([0.5f, 0.5f, 0.5f, 0.5f], [true, false, true, false]), 12);
        // One tie between a positive and a negative (0.5), the other pairs ordered: (3 + 0.5) / 4.
        Assert.Equal(0.875, BinaryMetrics.AreaUnderRoc([0.2f, 0.5f, 0.5f, 0.9f], [false, false, true, true]), 12);
    }

    [Fact]
    public void AreaUnderRoc_WithOneClassOnly_IsNaN()
    {
        Assert.True(double.IsNaN(BinaryMetrics.AreaUnderRoc([0.1f, 0.9f], [true, true])));
    }

    [Fact]
    public void BestF1Threshold_SitsBetweenTheScoresThatSeparateBest()
    {
        // Calling 0.8 and 0.6 gives F1 1 (0.35 is below both positives) — midway between 0.6 and 0.4.
        var threshold = BinaryMetrics.BestF1Threshold([0.1f, 0.4f, 0.6f, 0.8f], [false, false, true, true]);

        Assert.Equal(0.5, threshold, 6);
        Assert.Equal(1.0, BinaryMetrics.Compute([0.1f, 0.4f, 0.6f, 0.8f], [false, false, true, true], threshold).F1, 12);
    }

    [Fact]
    public void BestF1Threshold_OnTheReference_BeatsEveryOtherCut()
    {
        var best = BinaryMetrics.BestF1Threshold(Scores, Labels);
        var bestF1 = BinaryMetrics.Compute(Scores, Labels, best).F1;

        // Cutting below 0.35 calls three rows (F1 0.8) — the best any cut achieves here.
        Assert.Equal(0.8, bestF1, 12);
        foreach (var cut in new[] { 0.0, 0.2, 0.375, 0.6, 0.9 })
        {
            Assert.True(BinaryMetrics.Compute(Scores, Labels, cut).F1 <= bestF1);
        }
    }

    [Fact]
    public void Compute_WithMismatchedLengths_Throws()
    {
        Assert.Throws<ArgumentException>(() => BinaryMetrics.Compute([0.1f], [true, false], 0.5));
    }

    [Fact]
    public void ToManifest_HasTheFiveHeldOutMetrics()
    {
        var manifest = BinaryMetrics.Compute(Scores, Labels, 0.5).ToManifest();

        Assert.Equal(["accuracy", "auc", "f1", "precision", "recall"], manifest.Keys);
    }
}
