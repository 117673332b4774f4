using System.Buffers.Binary;
using System.Text.Json;
using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Options;

namespace RealTimeInference.LoadTest.Tests.Http;

public sealed class RequestFactoryTests
{
    [Fact]
    public void CreateBodies_ForPredict_GivesDistinctSingleReadingsInTheWireShape()
    {
        var bodies = RequestFactory.CreateBodies(ScenarioKind.Predict, batchSize: 1000, seed: 42);

        Assert.Equal(1024, bodies.Length);
        Assert.Equal(bodies.Length, bodies.Select(Convert.ToBase64String).Distinct().Count());
        using var first = JsonDocument.Parse(bodies[0]);
        var reading = first.RootElement;
        Assert.Equal(JsonValueKind.Object, reading.ValueKind);
        Assert.Equal(["timestamp", "temperature", "pressure", "flow_rate"], reading.EnumerateObject().Select(p => p.Name));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), reading.GetProperty("timestamp").GetDateTimeOffset());
    }

    [Fact]
    public void CreateFrames_CarryTheSameReadingsAsTheBatchBodiesBehindTheDocumentedHeader()
    {
        var frames = RequestFactory.CreateFrames(rows: 10, seed: 7);
        var batches = RequestFactory.CreateBodies(ScenarioKind.WsBinary, batchSize: 10, seed: 7);

        Assert.Equal(batches.Length, frames.Length);
        var frame = frames[1];
        Assert.Equal("RTI\u0001"u8.ToArray(), frame[..4]);
        Assert.Equal(10u, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(4)));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(8)));
        Assert.Equal(12 + (10 * 12), frame.Length);
        using var batch = JsonDocument.Parse(batches[1]);
        var i = 0;
        foreach (var reading in batch.RootElement.EnumerateArray())
        {
            Assert.Equal(reading.GetProperty("temperature").GetSingle(), BinaryPrimitives.ReadSingleLittleEndian(frame.AsSpan(12 + (i * 12))));
            Assert.Equal(reading.GetProperty("pressure").GetSingle(), BinaryPrimitives.ReadSingleLittleEndian(frame.AsSpan(16 + (i * 12))));
            Assert.Equal(reading.GetProperty("flow_rate").GetSingle(), BinaryPrimitives.ReadSingleLittleEndian(frame.AsSpan(20 + (i * 12))));
            i++;
        }

        Assert.Equal(10, i);
    }

    [Fact]
    public void CreateBodies_ForPredict_DrawsReadingsAroundTheProcessSetPoints()
    {
        var readings = RequestFactory.CreateBodies(ScenarioKind.Predict, 1000, seed: 42)
            .Select(body => JsonDocument.Parse(body).RootElement)
            .ToArray();

        static double Mean(IEnumerable<double> values) => values.Average();
        static double StdDev(double[] values)
        {
            var mean = values.Average();
            return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
        }

        var temperature = readings.Select(r => r.GetProperty("temperature").GetDouble()).ToArray();
        var pressure = readings.Select(r => r.GetProperty("pressure").GetDouble()).ToArray();
        var flow = readings.Select(r => r.GetProperty("flow_rate").GetDouble()).ToArray();
        Assert.InRange(Mean(temperature), 349, 351);
        Assert.InRange(StdDev(temperature), 4.5, 5.5);
        Assert.InRange(Mean(pressure), 1012, 1014);
        Assert.InRange(StdDev(pressure), 9, 11);
        Assert.InRange(Mean(flow), 99.6, 100.4);
        Assert.InRange(StdDev(flow), 1.8, 2.2);
    }

    [Fact]
    public void CreateBodies_WithTheSameSeed_IsRepeatable()
    {
        var first = RequestFactory.CreateBodies(ScenarioKind.Predict, 1000, seed: 7);
        var second = RequestFactory.CreateBodies(ScenarioKind.Predict, 1000, seed: 7);
        var other = RequestFactory.CreateBodies(ScenarioKind.Predict, 1000, seed: 8);

        Assert.Equal(first, second);
        Assert.NotEqual(first[0], other[0]);
    }

    [Fact]
    public void CreateBodies_ForPredictBatch_GivesArraysOfBatchSizeWithinAMemoryBudget()
    {
        var bodies = RequestFactory.CreateBodies(ScenarioKind.PredictBatch, batchSize: 1000, seed: 42);

        Assert.Equal(RequestFactory.PoolSize(1000), bodies.Length);
        Assert.InRange(bodies.Length, 8, 100);
        using var batch = JsonDocument.Parse(bodies[^1]);
        Assert.Equal(1000, batch.RootElement.GetArrayLength());
        Assert.True(batch.RootElement[999].TryGetProperty("flow_rate", out _));
    }

    [Fact]
    public void RequestSource_CyclesThroughEveryBody()
    {
        byte[][] bodies = [[1], [2], [3]];
        var source = new RequestSource(new Uri("http://server/predict"), bodies, 1);

        var sent = Enumerable.Range(0, 7).Select(_ => source.NextBody()[0]).ToArray();

        Assert.Equal(new byte[] { 1, 2, 3, 1, 2, 3, 1 }, sent);
    }
}
