using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace RealTimeInference.Server.Tests.Resilience;

/// <summary>
/// The bundled models behind scorers whose runs the test can make fail, with a fake clock for
/// the circuit breakers: open after 4 runs when half of them fail, for 5 s.
/// </summary>
public sealed class FaultyModelServerFixture : HookedScorerServerFixture
{
    private readonly ConcurrentDictionary<string, bool> _failing = new();
    private readonly ConcurrentDictionary<string, int> _runs = new();

    public FakeTimeProvider Time { get; } = new();

    public void Fail(string model, bool failing) => _failing[model] = failing;

    /// <summary>Model runs attempted so far (failed ones included).</summary>
    public int Runs(string model) => _runs.GetValueOrDefault(model);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Inference:Resilience:MinimumThroughput", "4"),
        new("Inference:Resilience:FailureRatio", "0.5"),
        new("Inference:Resilience:BreakDuration", "00:00:05"),
    ];

    protected override void ConfigureTestServices(IServiceCollection services)
    {
        base.ConfigureTestServices(services);
        services.AddSingleton<TimeProvider>(Time);
    }

    protected override void BeforeRun(string model, ReadOnlySpan<float> features, int rows)
    {
        _runs.AddOrUpdate(model, 1, (_, runs) => runs + 1);
        if (_failing.GetValueOrDefault(model))
        {
            throw new InvalidOperationException($"Injected fault in {model}.");
        }
    }
}
