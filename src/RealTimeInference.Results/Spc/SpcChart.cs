namespace RealTimeInference.Results.Spc;

/// <summary>
/// The control-chart rules, on points standardized by the chart's limits (z = (x - mean) / σ):
/// the Western Electric rules 1–4 and the four of Nelson's that they do not already cover (Nelson's
/// 1, 2, 5 and 6 are WE1, a longer WE4, WE2 and WE3).
/// </summary>
public enum SpcRule
{
    /// <summary>WE1: one point beyond 3σ.</summary>
    WE1,
    /// <summary>WE2: two of three points in a row beyond 2σ on the same side.</summary>
    WE2,
    /// <summary>WE3: four of five points in a row beyond 1σ on the same side.</summary>
    WE3,
    /// <summary>WE4: eight points in a row on the same side of the mean.</summary>
    WE4,
    /// <summary>Nelson 3 (trend): six points in a row, each higher (or each lower) than the one before.</summary>
    N3,
    /// <summary>Nelson 4 (oscillation): fourteen points in a row alternating up and down.</summary>
    N4,
    /// <summary>Nelson 7 (stratification): fifteen points in a row within 1σ of the mean.</summary>
    N7,
    /// <summary>Nelson 8 (mixture): eight points in a row beyond 1σ, on either side.</summary>
    N8,
}

/// <summary>
/// One control chart: its limits, from the first <c>baselinePoints</c> points (mean ± 3σ of them,
/// taken as in control) unless configured, and the last points it judges each new one with.
/// Not thread-safe: one caller at a time.
/// </summary>
public sealed class SpcChart
{
    /// <summary>The most points any rule looks back over (Nelson 7's fifteen).</summary>
    public const int History = 15;

    /// <summary>Points kept: the power of two at or above <see cref="History"/>, so that a ring index is a mask, not a division.</summary>
    private const int Ring = 16;

    private readonly int _baselinePoints;
    private readonly SpcRule[] _rules;
    private readonly double[] _points = new double[Ring];
    private readonly double[] _raw = new double[Ring];
    private int _count;
    private int _next;
    // Runs ending at the newest point, for the rules that look at a run (capped past any rule's span):
    // points on one side of the mean, steps in one direction, turns (steps opposite to the one before),
    // points within 1σ and points beyond it; and the last step's direction.
    private int _sameSide;
    private int _trend;
    private int _turns;
    private int _within;
    private int _beyond;
    private int _lastStep;
    private double _baselineSum;
    private double _baselineSquares;
    private int _baselineCount;

    /// <param name="rules">The rules the chart judges each point by.</param>
    /// <param name="baselinePoints">Points that set the limits when none are configured (at least 2).</param>
    /// <param name="mean">The configured centre line; with <paramref name="sigma"/>, no baseline is taken.</param>
    /// <param name="sigma">The configured σ.</param>
    public SpcChart(IReadOnlyList<SpcRule> rules, int baselinePoints, double? mean = null, double? sigma = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(baselinePoints, 2);
        _rules = [.. rules];
        _baselinePoints = baselinePoints;
        if (mean is { } m && sigma is { } s)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(s, nameof(sigma));
            (Mean, Sigma) = (m, s);
        }
    }

    /// <summary>The centre line; null while the baseline is being taken.</summary>
    public double? Mean { get; private set; }

    public double? Sigma { get; private set; }

    /// <summary>
    /// Takes one point: while the baseline is taken, into the limits (no verdict); after, judged by
    /// the rules. Returns the first rule it breaks, or null; <paramref name="z"/> is its standardized value (0 during the baseline).
    /// </summary>
    public SpcRule? Add(double value, out double z)
    {
        z = 0;
        if (Mean is not { } mean || Sigma is not { } sigma)
        {
            _baselineSum += value;
            _baselineSquares += value * value;
            if (++_baselineCount == _baselinePoints)
            {
                var average = _baselineSum / _baselineCount;
                var variance = Math.Max(0, (_baselineSquares - (_baselineCount * average * average)) / (_baselineCount - 1));
                // A constant baseline has no spread: the smallest σ that still tells a change from noise-free values.
                Mean = average;
                Sigma = Math.Max(Math.Sqrt(variance), Math.Max(Math.Abs(average), 1) * 1e-9);
            }

            return null;
        }

        z = (value - mean) / sigma;
        Runs(z);
        _points[_next] = z;
        _raw[_next] = value;
        _next = (_next + 1) & (Ring - 1);
        _count = Math.Min(_count + 1, History);
        foreach (var rule in _rules)
        {
            if (Breaks(rule))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>Extends (or ends) the runs with a new point, before it is kept.</summary>
    private void Runs(double z)
    {
        const int Cap = History + 1;
        var side = Math.Sign(z);
        var step = 0;
        if (_count > 0)
        {
            var last = Z(0);
            _sameSide = side != 0 && side == Math.Sign(last) ? Math.Min(_sameSide + 1, Cap) : side != 0 ? 1 : 0;
            step = Math.Sign(z - last);
            _trend = step != 0 && step == _lastStep ? Math.Min(_trend + 1, Cap) : step != 0 ? 1 : 0;
            _turns = step != 0 && step == -_lastStep ? Math.Min(_turns + 1, Cap) : 0;
        }
        else
        {
            _sameSide = side != 0 ? 1 : 0;
        }

        _lastStep = step;
        var outside = Math.Abs(z);
        _within = outside < 1 ? Math.Min(_within + 1, Cap) : 0;
        _beyond = outside > 1 ? Math.Min(_beyond + 1, Cap) : 0;
    }

    /// <summary>The last <paramref name="n"/> points as taken (oldest first), for an alert's evidence.</summary>
    public IReadOnlyList<double> Last(int n)
    {
        n = Math.Min(n, _count);
        var last = new double[n];
        for (var i = 0; i < n; i++)
        {
            last[i] = _raw[(_next - n + i) & (Ring - 1)];
        }

        return last;
    }

    /// <summary>How many points a rule looks at.</summary>
    public static int Span(SpcRule rule) => rule switch
    {
        SpcRule.WE1 => 1,
        SpcRule.WE2 => 3,
        SpcRule.WE3 => 5,
        SpcRule.WE4 or SpcRule.N8 => 8,
        SpcRule.N3 => 6,
        SpcRule.N4 => 14,
        _ => 15,
    };

    /// <summary>The <paramref name="back"/>th point before the newest (0: the newest).</summary>
    private double Z(int back) => _points[(_next - 1 - back) & (Ring - 1)];

    private bool Breaks(SpcRule rule) => rule switch
    {
        SpcRule.WE1 => Math.Abs(Z(0)) > 3,
        SpcRule.WE2 => _count >= 3 && Beyond(3, 2, 2),
        SpcRule.WE3 => _count >= 5 && Beyond(5, 4, 1),
        SpcRule.WE4 => _sameSide >= 8,
        // Six points in a row rising (or falling) are five steps one way; fourteen alternating, twelve turns.
        SpcRule.N3 => _trend >= 5,
        SpcRule.N4 => _turns >= 12,
        SpcRule.N7 => _within >= 15,
        _ => _beyond >= 8,
    };

    /// <summary>At least <paramref name="need"/> of the last <paramref name="of"/> points beyond <paramref name="sigmas"/>, all on one side.</summary>
    private bool Beyond(int of, int need, double sigmas)
    {
        int above = 0, below = 0;
        for (var i = 0; i < of; i++)
        {
            above += Z(i) > sigmas ? 1 : 0;
            below += Z(i) < -sigmas ? 1 : 0;
        }

        return above >= need || below >= need;
    }
}
