using RealTimeInference.LoadTest.Options;

namespace RealTimeInference.LoadTest.Tests.Options;

public sealed class DurationParserTests
{
    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5", 1_500)]
    [InlineData("0s", 0)]
    [InlineData(" 3S ", 3_000)]
    public void TryParse_WithUnitOrBareSeconds_ReturnsDuration(string text, double expectedMs)
    {
        Assert.True(DurationParser.TryParse(text, out var value));
        Assert.Equal(expectedMs, value.TotalMilliseconds, 6);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("-1s")]
    [InlineData("10x")]
    [InlineData("s")]
    [InlineData("NaN")]
    public void TryParse_WithGarbage_Fails(string text) => Assert.False(DurationParser.TryParse(text, out _));
}
