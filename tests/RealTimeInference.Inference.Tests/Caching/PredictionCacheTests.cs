using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Inference.Tests.Caching;

public sealed class PredictionCacheTests : IDisposable
{
    private readonly TestMeters _meters = new();

    private PredictionCache Create(int capacity = 100) =>
        new(Options.Create(new PredictionCacheOptions { Enabled = true, Capacity = capacity }), new InferenceMetrics(_meters));

    [Fact]
    public void TryGet_SameModelVersionAndValues_HitsAndCounts()
    {
        var cache = Create();
        cache.Add("m", 1, [350f, 1013f, 100f], 0.25f);

        Assert.True(cache.TryGet("m", 1, [350f, 1013f, 100f], out var score));
        Assert.Equal(0.25f, score);
        Assert.False(cache.TryGet("m", 1, [350f, 1013f, 100.00001f], out _));
        Assert.Equal(1, _meters.Total("cache_requests_total", ("model", "m"), ("result", "hit")));
        Assert.Equal(1, _meters.Total("cache_requests_total", ("model", "m"), ("result", "miss")));
    }

    [Fact]
    public void TryGet_OtherVersionOrModel_Misses()
    {
        var cache = Create();
        cache.Add("m", 1, [1f, 2f, 3f], 0.5f);

        Assert.False(cache.TryGet("m", 2, [1f, 2f, 3f], out _));
        Assert.False(cache.TryGet("other", 1, [1f, 2f, 3f], out _));
    }

    [Fact]
    public void Add_PastCapacity_EvictsTheLeastRecentlyUsed()
    {
        var cache = Create(capacity: 2);
        cache.Add("m", 1, [1f], 0.1f);
        cache.Add("m", 1, [2f], 0.2f);
        Assert.True(cache.TryGet("m", 1, [1f], out _)); // [1] is now the most recent

        cache.Add("m", 1, [3f], 0.3f);

        Assert.Equal(2, cache.Count);
        Assert.True(cache.TryGet("m", 1, [1f], out _));
        Assert.False(cache.TryGet("m", 1, [2f], out _));
        Assert.True(cache.TryGet("m", 1, [3f], out _));
    }

    [Fact]
    public void Clear_DropsOnlyThatModel()
    {
        var cache = Create();
        cache.Add("a", 1, [1f], 0.1f);
        cache.Add("b", 1, [1f], 0.2f);

        cache.Clear("a");

        Assert.False(cache.TryGet("a", 1, [1f], out _));
        Assert.True(cache.TryGet("b", 1, [1f], out var b));
        Assert.Equal(0.2f, b);
    }

    [Fact]
    public void Keys_CompareBitForBit()
    {
        var cache = Create();
        cache.Add("m", 1, [0f], 0.1f);

        // -0 equals 0 as a float but is another input bit pattern: the model saw other bytes.
        Assert.False(cache.TryGet("m", 1, [-0f], out _));
    }

    public void Dispose() => _meters.Dispose();
}
