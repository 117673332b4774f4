using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Tests.Batching;

namespace RealTimeInference.Inference.Tests.Resilience;

public sealed class ModelBreakersTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestMeters _meters = new();
    private readonly GatedScorer _scorer = new(featureCount: 1);
    private readonly ModelBreakers _breakers;
    private readonly MicroBatcher _batcher;

    public ModelBreakersTests()
    {
        var metrics = new InferenceMetrics(_meters);
        var options = Options.Create(new ResilienceOptions
        {
            MinimumThroughput = 2,
            FailureRatio = 0.5,
            BreakDuration = TimeSpan.FromSeconds(5),
            SlowRun = TimeSpan.FromMilliseconds(100),
        });
        _breakers = new ModelBreakers(options, _time, metrics, NullLogger<ModelBreakers>.Instance);
        _batcher = new MicroBatcher(
            "m", _scorer, 8, 64, TimeSpan.Zero, _time, metrics, NullLogger.Instance, runs: _breakers.For("m"));
    }

    private async Task<ScoreResult> ScoreAsync() => await _batcher.ScoreAsync(new[] { 1f }, new float[1]);

    [Fact]
    public async Task FailedRuns_OpenTheBreaker_WhichRefusesRunsWithoutTheModel_ThenClosesAfterATrial()
    {
        _scorer.FailWith = new InvalidOperationException("boom");
        Assert.Equal(Outcome.Failed, (await ScoreAsync()).Outcome);
        Assert.Equal(Outcome.Failed, (await ScoreAsync()).Outcome);
        Assert.Equal(CircuitState.Open, _breakers.StateOf("m"));

        _scorer.FailWith = null;
        var runs = _scorer.BatchRows.Count;
        var refused = await ScoreAsync();
        Assert.Equal(Outcome.Failed, refused.Outcome);
        Assert.Equal(runs, _scorer.BatchRows.Count);

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(Outcome.Ok, (await ScoreAsync()).Outcome);
        Assert.Equal(CircuitState.Closed, _breakers.StateOf("m"));
    }

    [Fact]
    public async Task SlowRuns_OpenTheBreaker_ThoughTheirAnswersAreKept()
    {
        _scorer.DuringRun = () => _time.Advance(TimeSpan.FromMilliseconds(150));

        Assert.Equal(Outcome.Ok, (await ScoreAsync()).Outcome);
        Assert.Equal(Outcome.Ok, (await ScoreAsync()).Outcome);

        Assert.Equal(CircuitState.Open, _breakers.StateOf("m"));
    }

    public async ValueTask DisposeAsync()
    {
        _scorer.Open();
        await _batcher.DisposeAsync();
        _scorer.Dispose();
        _meters.Dispose();
    }
}
