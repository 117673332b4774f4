namespace RealTimeInference.Training.Tests;

public sealed class TrainingOptionsTests
{
    [Fact]
    public void Parse_WithOnlyOut_UsesDefaults()
    {
        var options = TrainingOptions.Parse(["--out", "models"], out var error);

        Assert.Null(error);
        Assert.Equal(new TrainingOptions("models", 42, 200_000), options);
        Assert.Equal(50_000, options!.HeldOutRows);
    }

    [Fact]
    public void Parse_ReadsSeedAndRows()
    {
        Assert.Equal(new TrainingOptions("x", 9, 5_000), TrainingOptions.Parse(["--seed", "9", "--rows", "5000", "--out", "x"], out _));
    }

    [Theory]
    [InlineData("--seed", "42")]
    [InlineData("--out")]
    [InlineData("--out", "x", "--rows", "10")]
    [InlineData("--out", "x", "--rows", "many")]
    [InlineData("--out", "x", "--bogus", "1")]
    public void Parse_WithMissingOrBadArguments_ReturnsAnError(params string[] args)
    {
        Assert.Null(TrainingOptions.Parse(args, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Parse_ReadsWafersAndSamples()
    {
        Assert.Equal(
            new TrainingOptions("x", 42, 200_000, 50, "samples"),
            TrainingOptions.Parse(["--out", "x", "--wafers", "50", "--samples", "samples"], out _));
        Assert.Null(TrainingOptions.Parse(["--out", "x", "--wafers", "5"], out var error));
        Assert.Contains("--wafers", error, StringComparison.Ordinal);
    }
}
