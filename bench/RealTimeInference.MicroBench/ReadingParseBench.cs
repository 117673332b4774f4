using System.Buffers;
using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using RealTimeInference.Server.Readings;

namespace RealTimeInference.MicroBench;

/// <summary>
/// POST /readings' parse of bench/readings.sh's body (1,000 readings of 100 chambers, 20 sensors as the
/// shortest round-trip text of random doubles): the one-pass parse the server takes it with, against
/// the JSON reader's parse that every other body gets.
/// </summary>
[MemoryDiagnoser]
public class ReadingParseBench
{
    private readonly ReadingBatch _batch = new(1000, DateTimeOffset.UnixEpoch);
    private byte[] _body = [];

    /// <summary>How the values are written: <c>R</c>, the shortest round-trip text (17 digits, as the bench sends); <c>F3</c>, three decimals, as a tool reports.</summary>
    [Params("R", "F3")]
    public string Format { get; set; } = "R";

    [GlobalSetup]
    public void Setup() => _body = Body(1000, Format);

    [Benchmark(Baseline = true)]
    public int JsonReader()
    {
        _batch.Clear();
        ReadingJson.ParseWithReader(new ReadOnlySequence<byte>(_body), _batch, 1000, out _);
        return _batch.Count;
    }

    [Benchmark]
    public int OnePass()
    {
        _batch.Clear();
        ReadingJson.TryParseFast(_body, _batch, 1000, null, out _);
        return _batch.Count;
    }

    private static byte[] Body(int readings, string format)
    {
        var random = new Random(42);
        var all = Enumerable.Range(0, readings).Select(_ =>
            $$"""{"context":{"tool_id":"etch-{{random.Next(10):00}}","chamber_id":"{{(char)('A' + random.Next(10))}}","recipe":"poly-etch","step":"main-etch","lot_id":"lot-1","wafer_id":"w{{random.Next(25):00}}"},"values":{"""
            + string.Join(",", Enumerable.Range(0, 20).Select(s => $"\"s{s:00}\":{(random.NextDouble() * 2 - 1).ToString(format, CultureInfo.InvariantCulture)}"))
            + "}}");
        return Encoding.UTF8.GetBytes("[" + string.Join(",", all) + "]");
    }
}
