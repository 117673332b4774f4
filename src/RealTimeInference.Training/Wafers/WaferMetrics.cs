using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.Training.Wafers;

/// <summary>
/// Held-out quality of the wafer classifier. A wafer is called defective when
/// 1 - P(none) reaches the threshold (the rule serving applies); its class is the most probable one.
/// </summary>
internal sealed record WaferMetrics(
    double DetectionRate,
    double FalseAlarmRate,
    double Accuracy,
    double MacroF1,
    IReadOnlyList<IReadOnlyList<int>> ConfusionMatrix)
{
    private static readonly int Classes = WaferPatterns.All.Count;

    /// <summary><paramref name="scores"/>: one row of class probabilities per wafer, row-major.</summary>
    public static WaferMetrics Compute(ReadOnlySpan<float> scores, IReadOnlyList<WaferPattern> labels, double threshold)
    {
        var confusion = new int[Classes][];
        for (var i = 0; i < Classes; i++)
        {
            confusion[i] = new int[Classes];
        }

        int defects = 0, detected = 0, clean = 0, alarms = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            var row = scores.Slice(i * Classes, Classes);
            var isDefect = labels[i] != WaferPattern.None;
            var flagged = DefectProbability(row) >= threshold;
            (defects, detected, clean, alarms) = isDefect
                ? (defects + 1, detected + (flagged ? 1 : 0), clean, alarms)
                : (defects, detected, clean + 1, alarms + (flagged ? 1 : 0));
            confusion[(int)labels[i]][ArgMax(row)]++;
        }

        var correct = Enumerable.Range(0, Classes).Sum(c => confusion[c][c]);
        var f1s = Enumerable.Range(0, Classes).Select(c =>
        {
            var predicted = confusion.Sum(row => row[c]);
            var actual = confusion[c].Sum();
            var precision = predicted == 0 ? 0 : confusion[c][c] / (double)predicted;
            var recall = actual == 0 ? 0 : confusion[c][c] / (double)actual;
            return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        });
        return new WaferMetrics(
            Ratio(detected, defects),
            Ratio(alarms, clean),
            Ratio(correct, labels.Count),
            f1s.Average(),
            confusion);
    }

    /// <summary>The threshold on 1 - P(none) that maximises detection rate minus false-alarm rate (Youden's J).</summary>
    public static double BestThreshold(ReadOnlySpan<float> scores, IReadOnlyList<WaferPattern> labels)
    {
        var (best, bestJ) = (0.5, double.MinValue);
        for (var t = 0.05; t < 0.96; t += 0.01)
        {
            var m = Compute(scores, labels, t);
            var j = m.DetectionRate - m.FalseAlarmRate;
            (best, bestJ) = j > bestJ + 1e-12 ? (t, j) : (best, bestJ);
        }

        return Math.Round(best, 2);
    }

    public static double DefectProbability(ReadOnlySpan<float> probabilities) => 1 - probabilities[(int)WaferPattern.None];

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    public IReadOnlyDictionary<string, double> ToManifest() => new SortedDictionary<string, double>(StringComparer.Ordinal)
    {
        ["accuracy"] = Math.Round(Accuracy, 4),
        ["detection_rate"] = Math.Round(DetectionRate, 4),
        ["false_alarm_rate"] = Math.Round(FalseAlarmRate, 4),
        ["macro_f1"] = Math.Round(MacroF1, 4),
    };

    private static double Ratio(int a, int b) => b == 0 ? 0 : a / (double)b;
}
