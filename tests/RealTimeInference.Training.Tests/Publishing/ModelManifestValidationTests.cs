using RealTimeInference.Inference.Models;

namespace RealTimeInference.Training.Tests.Publishing;

public sealed class ModelManifestValidationTests
{
    private static readonly ModelManifest Valid = new(
        "m",
        "a model",
        new ModelInput("Features", ["temperature", "pressure", "flow_rate"]),
        new ModelOutput("Probability.output", "probability"),
        0.5,
        new BatchingSettings(256, 0, 8192),
        new ThreadSettings(1, 1),
        null,
        new Provenance("t", 1, 10, 10, "g", "ML.NET 5.0.1", "RealTimeInference.Training"),
        new Dictionary<string, double> { ["auc"] = 0.9 });

    [Fact]
    public void Validate_OnAGoodManifest_FindsNothing()
    {
        Assert.Empty(Valid.Validate());
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void Validate_WithThresholdOutsideZeroOne_NamesThreshold(double threshold)
    {
        var error = Assert.Single((Valid with { Threshold = threshold }).Validate());

        Assert.Contains("threshold", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WithoutInput_NamesInputName()
    {
        var error = Assert.Single((Valid with { Input = null! }).Validate());

        Assert.Contains("input.name", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WithNoFeatures_NamesInputFeatures()
    {
        var error = Assert.Single((Valid with { Input = new ModelInput("Features", []) }).Validate());

        Assert.Contains("input.features", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OfAManifestMissingItsInput_FailsNamingTheFieldAndFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"manifest-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, """
                { "name": "m", "description": "", "output": { "name": "Probability.output", "kind": "probability" },
                  "threshold": 2, "batching": { "max_batch_size": 1, "max_queue_delay_ms": 0, "queue_capacity": 1 },
                  "threads": { "intra_op": 1, "inter_op": 1 }, "fallback": null,
                  "provenance": { "trainer": "t", "seed": 1, "train_rows": 1, "test_rows": 1, "generator": "g",
                                  "framework": "f", "exported_by": "e" },
                  "metrics": {} }
                """);

            var error = Assert.Throws<InvalidDataException>(() => ModelManifest.Load(path));

            Assert.Contains(path, error.Message, StringComparison.Ordinal);
            Assert.Contains("input.name", error.Message, StringComparison.Ordinal);
            Assert.Contains("threshold", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
