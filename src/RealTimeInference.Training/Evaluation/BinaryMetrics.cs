namespace RealTimeInference.Training.Evaluation;

/// <summary>
/// Held-out quality of a probability score. A row is called anomalous when its score is at or
/// above the threshold, the same rule serving applies to model.json's threshold.
/// </summary>
internal sealed record BinaryMetrics(
    double Auc,
    double Precision,
    double Recall,
    double F1,
    double Accuracy,
    int TruePositives,
    int FalsePositives,
    int TrueNegatives,
    int FalseNegatives)
{
    public static BinaryMetrics Compute(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels, double threshold)
    {
        CheckLengths(scores, labels);
        int tp = 0, fp = 0, tn = 0, fn = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var predicted = scores[i] >= threshold;
            switch ((predicted, labels[i]))
            {
                case (true, true): tp++; break;
                case (true, false): fp++; break;
                case (false, false): tn++; break;
                default: fn++; break;
            }
        }

        var precision = Ratio(tp, tp + fp);
        var recall = Ratio(tp, tp + fn);
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new BinaryMetrics(AreaUnderRoc(scores, labels), precision, recall, f1, Ratio(tp + tn, scores.Length), tp, fp, tn, fn);
    }

    /// <summary>
    /// Area under the ROC curve as the Mann–Whitney statistic: the chance that a random positive
    /// outscores a random negative, ties counting half. NaN when either class is absent.
    /// </summary>
    public static double AreaUnderRoc(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels)
    {
        CheckLengths(scores, labels);
        var order = SortedAscending(scores);
        long positives = 0;
        double positiveRankSum = 0;
        for (var i = 0; i < order.Length;)
        {
            // Rows with equal scores share the mean of their 1-based ranks.
            var j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]])
            {
                j++;
            }

            var meanRank = ((i + 1) + (j + 1)) / 2.0;
            for (var k = i; k <= j; k++)
            {
                if (labels[order[k]])
                {
                    positives++;
                    positiveRankSum += meanRank;
                }
            }

            i = j + 1;
        }

        var negatives = order.Length - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        return (positiveRankSum - (positives * (positives + 1) / 2.0)) / (positives * (double)negatives);
    }

    /// <summary>
    /// The threshold that maximizes F1 on the given rows: midway between the lowest score called
    /// anomalous and the next lower score, so it does not sit exactly on a training score.
    /// </summary>
    public static double BestF1Threshold(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels)
    {
        CheckLengths(scores, labels);
        var order = SortedAscending(scores);
        var positives = 0;
        foreach (var label in labels)
        {
            positives += label ? 1 : 0;
        }

        if (positives == 0)
        {
            return 1.0;
        }

        // Walk from the highest score down; after each run of equal scores, every row so far is called anomalous.
        double bestF1 = -1, bestThreshold = 1.0;
        int tp = 0, called = 0;
        for (var i = order.Length - 1; i >= 0;)
        {
            var score = scores[order[i]];
            while (i >= 0 && scores[order[i]] == score)
            {
                tp += labels[order[i]] ? 1 : 0;
                called++;
                i--;
            }

            var f1 = 2.0 * tp / (called + positives);
            if (f1 > bestF1)
            {
                bestF1 = f1;
                bestThreshold = i >= 0 ? (score + (double)scores[order[i]]) / 2 : score;
            }
        }

        return bestThreshold;
    }

    public IReadOnlyDictionary<string, double> ToManifest() => new SortedDictionary<string, double>(StringComparer.Ordinal)
    {
        ["auc"] = Math.Round(Auc, 6),
        ["precision"] = Math.Round(Precision, 6),
        ["recall"] = Math.Round(Recall, 6),
        ["f1"] = Math.Round(F1, 6),
        ["accuracy"] = Math.Round(Accuracy, 6),
    };

    private static int[] SortedAscending(ReadOnlySpan<float> scores)
    {
        var order = new int[scores.Length];
        var keys = scores.ToArray();
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(keys, order);
        return order;
    }

    private static double Ratio(int numerator, int denominator) => denominator == 0 ? 0 : numerator / (double)denominator;

    private static void CheckLengths(ReadOnlySpan<float> scores, ReadOnlySpan<bool> labels)
    {
        if (scores.Length != labels.Length)
        {
            throw new ArgumentException($"{scores.Length} scores but {labels.Length} labels.", nameof(labels));
        }
    }
}
