using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RealTimeInference.Fab.Process;

namespace RealTimeInference.Fab.Tests.Process;

public sealed class SetpointSearchTests
{
    private static readonly ProcessLimits Limits = ProcessLimits.Default;

    /// <summary>Any double, the awkward ones (NaN, infinities, huge) more often than chance would give them.</summary>
    private static Gen<double> AnyNumber =>
        Gen.Frequency(
            (6, Gen.Choose(-2_000_000, 2_000_000).Select(i => i / 1000.0)),
            (1, Gen.Elements(double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.MaxValue, -double.MaxValue, 0.0)),
            (2, ArbMap.Default.GeneratorFor<double>()));

    private static Gen<Setpoints> AnySetpoints => Gen.ArrayOf(AnyNumber, 3).Select(v => new Setpoints(v[0], v[1], v[2]));

    /// <summary>Valid limits: any finite centre, width and step per setpoint.</summary>
    private static Gen<ProcessLimits> AnyLimits =>
        Gen.ArrayOf(Gen.Choose(-100_000, 100_000), 9).Select(v =>
        {
            var min = new Setpoints(v[0] / 10.0, v[1] / 10.0, v[2] / 10.0);
            var max = new Setpoints(min.Temperature + (Math.Abs(v[3]) / 100.0), min.Pressure + (Math.Abs(v[4]) / 100.0), min.Flow + (Math.Abs(v[5]) / 100.0));
            var step = new Setpoints((Math.Abs(v[6]) / 1000.0) + 0.001, (Math.Abs(v[7]) / 1000.0) + 0.001, (Math.Abs(v[8]) / 1000.0) + 0.001);
            return new ProcessLimits(min, max, step);
        });

    /// <summary>A model's output: yields mostly, and now and then what a broken model gives.</summary>
    private static Gen<float> AnyPrediction =>
        Gen.Frequency(
            (20, Gen.Choose(0, 1_000_000).Select(i => i / 1_000_000f)),
            (1, Gen.Elements(float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0.01f, 1.01f, 7f, -3e30f)));

    [Property(MaxTest = 2000)]
    public Property Recommendation_IsAlwaysInsideTheSafeRanges_AndWithinOneStepWhenStartingInside() => Prop.ForAll(
        AnyLimits.Zip(AnySetpoints).ToArbitrary(),
        Gen.ArrayOf(AnyPrediction, SetpointSearch.CandidateCount).ToArbitrary(),
        Gen.Choose(0, 100).Select(i => i / 1000.0).ToArbitrary(),
        (start, predictions, minGain) =>
        {
            var (limits, current) = start;
            var candidates = SetpointSearch.Candidates(current, limits);
            var result = SetpointSearch.Choose(candidates, predictions, limits, minGain);
            var broken = predictions.Any(p => !(p is >= 0 and <= 1));

            if (result.Recommended is not { } recommended)
            {
                return true;
            }

            var withinStep = !limits.Contains(current) || Enumerable.Range(0, Setpoints.Count)
                .All(i => Math.Abs(recommended[i] - current[i]) <= limits.MaxStep[i] * (1 + 1e-9));
            return !broken && limits.Contains(recommended) && withinStep;
        });

    [Property(MaxTest = 500)]
    public Property Candidates_AreAllInsideTheSafeRanges_ExceptTheCurrentSetpoints() => Prop.ForAll(
        AnyLimits.ToArbitrary(),
        AnySetpoints.ToArbitrary(),
        (limits, current) => SetpointSearch.Candidates(current, limits).Skip(1).All(limits.Contains));

    [Fact]
    public void Choose_PicksTheBestCandidate_WhenItGainsEnough()
    {
        var candidates = SetpointSearch.Candidates(Setpoints.Nominal, Limits);
        var predictions = Enumerable.Repeat(0.80f, candidates.Length).ToArray();
        predictions[5] = 0.85f;

        var result = SetpointSearch.Choose(candidates, predictions, Limits, minGain: 0.01);

        Assert.Equal(candidates[5], result.Recommended);
        Assert.Equal(0.05, result.PredictedGain, 6);
    }

    [Fact]
    public void Choose_KeepsTheCurrentSetpoints_WhenTheGainIsBelowTheMinimum()
    {
        var candidates = SetpointSearch.Candidates(Setpoints.Nominal, Limits);
        var predictions = Enumerable.Repeat(0.80f, candidates.Length).ToArray();
        predictions[5] = 0.805f;

        var result = SetpointSearch.Choose(candidates, predictions, Limits, minGain: 0.01);

        Assert.Null(result.Recommended);
        Assert.Contains("below the minimum", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(1.5f)]
    [InlineData(-0.1f)]
    [InlineData(float.PositiveInfinity)]
    public void Choose_RecommendsNothing_WhenAnyPredictionIsNotAYield(float broken)
    {
        var candidates = SetpointSearch.Candidates(Setpoints.Nominal, Limits);
        var predictions = Enumerable.Repeat(0.5f, candidates.Length).ToArray();
        predictions[3] = 0.99f;
        predictions[7] = broken;

        var result = SetpointSearch.Choose(candidates, predictions, Limits, minGain: 0);

        Assert.Null(result.Recommended);
        Assert.True(double.IsNaN(result.PredictedBest));
    }

    [Fact]
    public void Choose_MovesIntoTheSafeRanges_WhenTheCurrentSetpointsAreOutsideThem()
    {
        var current = new Setpoints(400, 1013, 100);
        var candidates = SetpointSearch.Candidates(current, Limits);
        var predictions = Enumerable.Repeat(0.5f, candidates.Length).ToArray();
        predictions[0] = 0.9f;

        var result = SetpointSearch.Choose(candidates, predictions, Limits, minGain: 0.01);

        Assert.NotNull(result.Recommended);
        Assert.True(Limits.Contains(result.Recommended.Value));
    }

    [Fact]
    public void Limits_Validate_NamesTheSetpointAtFault()
    {
        var limits = new ProcessLimits(new Setpoints(10, 0, 0), new Setpoints(5, 1, 1), new Setpoints(1, 0, 1));

        var errors = limits.Validate();

        Assert.Contains(errors, e => e.StartsWith("SafeRanges:temperature", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("MaxStep:pressure", StringComparison.Ordinal));
    }
}
