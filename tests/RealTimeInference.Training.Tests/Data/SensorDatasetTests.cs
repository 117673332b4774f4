using RealTimeInference.Fab.Sensors;
using RealTimeInference.Training.Data;

namespace RealTimeInference.Training.Tests.Data;

public sealed class SensorDatasetTests
{
    [Fact]
    public void Generate_BuildsRowsFromSensorFeatures_WithTheSimulatorsLabels()
    {
        var rows = SensorDataset.Generate(seed: 11, rows: 1_000);
        var simulator = new SensorSimulator(new SensorSimulatorOptions
        {
            Tools = SensorDataset.Tools,
            SensorsPerTool = SensorDataset.SensorsPerTool,
            AnomalyRate = SensorDataset.AnomalyRate,
            Seed = 11,
        });
        var readings = simulator.Generate(13).Take(1_000).ToArray();
        var expected = new float[SensorFeatures.Count];

        Assert.Equal(1_000, rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            SensorFeatures.Write(readings[i].Reading, expected);
            Assert.Equal(expected, rows[i].Features);
            Assert.Equal(readings[i].IsAnomaly, rows[i].Label);
        }

        Assert.Contains(rows, row => row.Label);
    }

    [Fact]
    public void Create_DrawsTrainValidationAndTestFromDifferentStreams()
    {
        var data = SensorDataset.Create(seed: 5, trainRows: 1_000, validationRows: 1_000, testRows: 1_000);

        Assert.Equal((1_000, 1_000, 1_000), (data.Train.Count, data.Validation.Count, data.Test.Count));
        Assert.NotEqual(data.Train[0].Features, data.Validation[0].Features);
        Assert.NotEqual(data.Train[0].Features, data.Test[0].Features);
        Assert.NotEqual(data.Validation[0].Features, data.Test[0].Features);
        Assert.NotEqual(SensorDataset.StreamSeed(5, 1), SensorDataset.StreamSeed(6, 0));
    }
}
