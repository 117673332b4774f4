using System.Buffers;
using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Readings;
using RealTimeInference.Server.Tests.Transport;

namespace RealTimeInference.Server.Tests.Readings;

/// <summary>
/// The fast parse of readings with context against the JSON reader's: whatever body the fast one takes,
/// the reader reads into the same readings with no error; whatever it does not, it leaves no reading behind.
/// </summary>
public sealed class ReadingJsonTests
{
    private static readonly string[] Seeds =
    [
        """[{"context":{"tool_id":"etch-01","chamber_id":"A","recipe":"poly-etch","step":"main-etch","lot_id":"lot-1","wafer_id":"w01"},"values":{"s00":1.5,"s01":-0.25e-3,"s02":0}},{"context":{"tool_id":"etch-01","chamber_id":"A","recipe":"poly-etch","step":"main-etch","lot_id":"lot-1","wafer_id":"w02"},"values":{"s00":1.25,"s01":3E+2,"s02":-0.0}}]""",
        "{ \"timestamp\" : \"2026-11-26T10:00:00Z\", \"context\" : { \"tool_id\" : \"t\", \"recipe\" : null },\r\n \"values\" : { \"rf_power\" : 1500, \"chuck_temp\":\t-12.75 } }",
        """[{"values":{"a":1,"b":2},"context":{"tool_id":"x"},"timestamp":null},{"values":{"b":2,"a":1},"context":{"chamber_id":"B","tool_id":"x"}}]""",
        """[{"context":{"tool_id":"t"},"values":{"a":1,"a":2}},{"context":{"tool_id":"t","tool_id":"u"},"values":{"a":1}},{"values":{"a":1}}]""",
        """[{"context":{"tool_id":"t\u00e9"},"values":{"caf\u00e9":1}},{"context":{"tool_id":"t"},"values":{"a":3.4028235e38,"b":1e39,"c":12345678901234567890}}]""",
        """{"timestamp":"2026-11-26T10:00:00.1234567+02:00","context":{"tool_id":"etch-02","chamber_id":"C"},"values":{"x":0.1},"extra":[1]}""",
    ];

    private static readonly ReadingContext Given = new("etch-01", "A");

    private static Gen<(byte[] Body, bool Given)> Bodies =>
        Gen.Elements(Seeds).SelectMany(seed => Gen.Choose(0, 4).SelectMany(edits => Gen.ArrayOf(Gen.Choose(0, int.MaxValue), edits * 3)
            .SelectMany(random => ArbMap.Default.GeneratorFor<bool>().Select(given => (ParserFuzzTests.Edit(Encoding.UTF8.GetBytes(seed), random), given)))));

    [Property(MaxTest = 3000)]
    public Property FastParse_TakesOnlyWhatTheReaderReadsTheSame() => Prop.ForAll(Bodies.ToArbitrary(), input =>
    {
        var given = input.Given ? Given : null;
        using var fast = new ReadingBatch(4, DateTimeOffset.UnixEpoch);
        if (!ReadingJson.TryParseFast(input.Body, fast, 10, given, out var fastIsArray))
        {
            Assert.Equal(0, fast.Count);
            Assert.Equal(0, fast.ValueMark);
            return;
        }

        using var read = new ReadingBatch(4, DateTimeOffset.UnixEpoch);
        Assert.Null(ReadingJson.ParseWithReader(new ReadOnlySequence<byte>(input.Body), read, 10, out var readIsArray, given));
        Assert.Equal(readIsArray, fastIsArray);
        AssertSame(read, fast);
    });

    /// <summary>The seeds the property mutates start out taken: whitespace, a timestamp, a null field, names in another order.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void FastParse_TakesTheValidSeeds(int seed)
    {
        using var fast = new ReadingBatch(4, DateTimeOffset.UnixEpoch);
        Assert.True(ReadingJson.TryParseFast(Encoding.UTF8.GetBytes(Seeds[seed]), fast, 10, null, out _));
        Assert.NotEqual(0, fast.Count);
    }

    [Fact]
    public void FastParse_TakesTheUsualBody_AsTheReaderReadsIt()
    {
        // As bench/readings.sh sends them: the shortest round-trip text of random doubles (17 digits), 20 sensors.
        var random = new Random(25);
        var readings = Enumerable.Range(0, 200).Select(i =>
            $$"""{"context":{"tool_id":"etch-{{i % 10:00}}","chamber_id":"{{(char)('A' + (i % 7))}}","recipe":"poly-etch","step":"main-etch","lot_id":"lot-1","wafer_id":"w{{i % 25:00}}"},"values":{"""
            + string.Join(",", Enumerable.Range(0, 20).Select(s => $"\"s{s:00}\":{(random.NextDouble() - 0.5).ToString("R", CultureInfo.InvariantCulture)}"))
            + "}}");
        var body = Encoding.UTF8.GetBytes("[" + string.Join(",", readings) + "]");

        using var fast = new ReadingBatch(200, DateTimeOffset.UnixEpoch);
        Assert.True(ReadingJson.TryParseFast(body, fast, 1000, null, out var isArray));
        Assert.True(isArray);
        Assert.Equal(200, fast.Count);
        using var read = new ReadingBatch(200, DateTimeOffset.UnixEpoch);
        Assert.Null(ReadingJson.ParseWithReader(new ReadOnlySequence<byte>(body), read, 1000, out _));
        AssertSame(read, fast);
    }

    [Theory]
    [InlineData("""{"context":{"tool_id":"t"},"values":{"a":01}}""")]
    [InlineData("""{"context":{"tool_id":"t"},"values":{"a":1.}}""")]
    [InlineData("""{"context":{"tool_id":"t"},"values":{"a":-}}""")]
    [InlineData("""{"context":{"tool_id":"t"},"values":{"a":1e}}""")]
    [InlineData("""{"context":{"tool_id":"t"},"values":{"a":1x}}""")]
    [InlineData("""{"context":{"tool_id":"t"},"values":{"a":1e39}}""")]
    [InlineData("""{"context":{"tool_id":"t"},"values":{"a\n":1}}""")]
    [InlineData("""{"context":{"tool_id":"t\"u"},"values":{"a":1}}""")]
    [InlineData("""{"context":{"tool_id":""},"values":{"a":1}}""")]
    [InlineData("""{"context":{"tool_id":"t"},"values":{}}""")]
    [InlineData("""{"context":{"tool_id":"t"},"values":{"a":1}} x""")]
    [InlineData("""[{"context":{"tool_id":"t"},"values":{"a":1}},]""")]
    [InlineData("""[]""")]
    public void FastParse_LeavesToTheReader_WhatItDoesNotTake(string body)
    {
        using var fast = new ReadingBatch(1, DateTimeOffset.UnixEpoch);
        Assert.False(ReadingJson.TryParseFast(Encoding.UTF8.GetBytes(body), fast, 10, null, out _));
        Assert.Equal(0, fast.Count);
    }

    private static void AssertSame(ReadingBatch expected, ReadingBatch actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (want, got) = (expected.Readings[i], actual.Readings[i]);
            Assert.Equal(want.Timestamp, got.Timestamp);
            Assert.Equal(want.Context, got.Context);
            Assert.Equal(expected.Names(want).ToArray(), actual.Names(got).ToArray());
            Assert.Equal(
                expected.Values(want).ToArray().Select(BitConverter.SingleToInt32Bits),
                actual.Values(got).ToArray().Select(BitConverter.SingleToInt32Bits));
        }
    }
}
