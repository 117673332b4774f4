using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RealTimeInference.Results.Spc;

namespace RealTimeInference.Results.Tests.Spc;

public sealed class SpcChartTests
{
    /// <summary>
    /// Series on a chart of mean 0 and σ 1 built from runs that provoke every rule: noise, a shift
    /// to one side, a trend, an oscillation, a quiet stretch and a mixture of both sides.
    /// </summary>
    private static readonly Gen<double[]> AnySeries = Gen.Choose(0, int.MaxValue).Select(seed =>
    {
        var random = new Random(seed);
        var series = new List<double>();
        while (series.Count < 60)
        {
            var length = random.Next(1, 18);
            var kind = random.Next(6);
            var start = (random.NextDouble() * 6) - 3;
            for (var i = 0; i < length; i++)
            {
                // Quarter steps, so equal points and exact limits (1, 2, 3) occur too.
                var value = kind switch
                {
                    0 => (random.NextDouble() * 8) - 4,
                    1 => (random.Next(2) == 0 ? 1 : -1) * random.NextDouble() * 3.5,
                    2 => start + (i * (random.Next(2) == 0 ? 0.5 : -0.5)),
                    3 => start + (i % 2 == 0 ? 1 : -1),
                    4 => (random.NextDouble() * 2) - 1,
                    _ => (random.Next(2) == 0 ? 1 : -1) * (1 + (random.NextDouble() * 2)),
                };
                series.Add(Math.Round(value * 4) / 4);
            }
        }

        return series.ToArray();
    });

    /// <summary>Each rule from its definition, over the whole series up to point <paramref name="t"/>: written again here, independently.</summary>
    private static bool Reference(SpcRule rule, double[] z, int t)
    {
        bool Window(int n, Func<double[], bool> holds) => t + 1 >= n && holds(z[(t - n + 1)..(t + 1)]);
        return rule switch
        {
            SpcRule.WE1 => Math.Abs(z[t]) > 3,
            SpcRule.WE2 => Window(3, w => w.Count(x => x > 2) >= 2 || w.Count(x => x < -2) >= 2),
            SpcRule.WE3 => Window(5, w => w.Count(x => x > 1) >= 4 || w.Count(x => x < -1) >= 4),
            SpcRule.WE4 => Window(8, w => w.All(x => x > 0) || w.All(x => x < 0)),
            SpcRule.N3 => Window(6, w => w.Zip(w.Skip(1)).All(p => p.Second > p.First) || w.Zip(w.Skip(1)).All(p => p.Second < p.First)),
            SpcRule.N4 => Window(14, w =>
            {
                var steps = w.Zip(w.Skip(1)).Select(p => p.Second - p.First).ToArray();
                return steps.Zip(steps.Skip(1)).All(p => (p.First > 0 && p.Second < 0) || (p.First < 0 && p.Second > 0));
            }),
            SpcRule.N7 => Window(15, w => w.All(x => Math.Abs(x) < 1)),
            _ => Window(8, w => w.All(x => Math.Abs(x) > 1)),
        };
    }

    [Property(MaxTest = 300)]
    public Property EachRule_BreaksExactlyWhereItsDefinitionSays() => Prop.ForAll(
        AnySeries.ToArbitrary(),
        series =>
        {
            foreach (var rule in Enum.GetValues<SpcRule>())
            {
                var chart = new SpcChart([rule], baselinePoints: 2, mean: 0, sigma: 1);
                for (var t = 0; t < series.Length; t++)
                {
                    if ((chart.Add(series[t], out _) == rule) != Reference(rule, series, t))
                    {
                        return false.Label($"{rule} at point {t} of [{string.Join(", ", series)}]");
                    }
                }
            }

            return true.ToProperty();
        });

    [Fact]
    public void EveryRuleIsSeenBreaking_SoTheSeriesExerciseThemAll()
    {
        var seen = new HashSet<SpcRule>();
        var series = AnySeries.Sample(200, 50);
        foreach (var values in series)
        {
            foreach (var rule in Enum.GetValues<SpcRule>())
            {
                if (Enumerable.Range(0, values.Length).Any(t => Reference(rule, values, t)))
                {
                    seen.Add(rule);
                }
            }
        }

        Assert.Equal(Enum.GetValues<SpcRule>(), seen.Order());
    }

    [Fact]
    public void WithoutConfiguredLimits_TheFirstPointsSetThem_AndAreNotJudged()
    {
        var chart = new SpcChart(Enum.GetValues<SpcRule>(), baselinePoints: 4);

        Assert.All(new[] { 9.0, 11, 9, 11 }, x => Assert.Null(chart.Add(x, out _)));
        Assert.Equal(10, chart.Mean);
        Assert.Equal(Math.Sqrt(4.0 / 3), chart.Sigma!.Value, 9);
        Assert.Equal(SpcRule.WE1, chart.Add(14, out var z));
        Assert.Equal(4 / Math.Sqrt(4.0 / 3), z, 9);
        Assert.Equal([14.0], chart.Last(1));
    }
}
