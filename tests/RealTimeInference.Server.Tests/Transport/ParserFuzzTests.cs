using System.Buffers;
using System.Buffers.Binary;
using System.Net.Http.Headers;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Sockets;
using RealTimeInference.Server.Tests.Wafers;

namespace RealTimeInference.Server.Tests.Transport;

/// <summary>
/// Generated inputs for every transport's parser — valid bodies mutated byte by byte, truncated,
/// spliced, and random bytes: no exception escapes a parser, and every request is answered 2xx or 4xx.
/// </summary>
public sealed class ParserFuzzTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly string[] JsonSeeds =
    [
        """{"temperature":350.2,"pressure":1012.5,"flow_rate":99.8}""",
        """{"timestamp":"2026-11-26T10:00:00Z","temperature":350,"pressure":1013,"flow_rate":100,"tool_id":"tool-01","sensor_id":"s-1"}""",
        """[{"temperature":350,"pressure":1013,"flow_rate":100},{"temperature":0,"pressure":2000,"flow_rate":-1e38}]""",
        """{"temperature":"\ud800","pressure":[1,{"a":null}],"flow_rate":1e400,"x":{"y":{"z":true}}}""",
    ];

    private static readonly byte[] Png = WaferImages.Png(WaferPattern.Donut);

    /// <summary>A seed with some bytes replaced, inserted or removed, or cut short; or bytes at random.</summary>
    private static Gen<byte[]> Mutated(params byte[][] seeds) =>
        Gen.OneOf(
            Gen.Elements(seeds).SelectMany(seed => Gen.Choose(0, 8).SelectMany(edits => Gen.ArrayOf(Gen.Choose(0, int.MaxValue), edits * 3)
                .Select(random => Edit(seed, random)))),
            ArbMap.Default.GeneratorFor<byte[]>());

    internal static byte[] Edit(byte[] seed, int[] random)
    {
        var bytes = new List<byte>(seed);
        for (var i = 0; i + 2 < random.Length && bytes.Count > 0; i += 3)
        {
            var at = random[i] % bytes.Count;
            var value = (byte)random[i + 1];
            switch (random[i + 2] % 4)
            {
                case 0: bytes[at] = value; break;
                case 1: bytes.Insert(at, value); break;
                case 2: bytes.RemoveAt(at); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break;
            }
        }

        return [.. bytes];
    }

    private static Gen<byte[]> JsonBodies => Mutated([.. JsonSeeds.Select(Encoding.UTF8.GetBytes)]);

    private static Gen<byte[]> Frames =>
        Gen.Choose(0, 40).SelectMany(rows => Gen.ArrayOf(ArbMap.Default.GeneratorFor<float>(), rows * 3).SelectMany(values =>
            Gen.Choose(0, 5).Select(lie =>
            {
                var frame = new byte[BinaryFrame.HeaderBytes + (values.Length * 4)];
                "RTI\u0001"u8.CopyTo(frame);
                // Now and then a header that lies about its rows or width.
                BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), lie == 1 ? (uint)rows + 1 : lie == 2 ? uint.MaxValue : (uint)rows);
                BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(8), lie == 3 ? 4u : 3u);
                for (var i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(frame.AsSpan(BinaryFrame.HeaderBytes + (i * 4)), values[i]);
                }

                return lie == 4 ? frame[..(frame.Length / 2)] : frame;
            })));

    [Property(MaxTest = 1000)]
    public Property JsonReading_EveryInput_IsAReadingOrNamedErrors() => Prop.ForAll(JsonBodies.ToArbitrary(), body =>
    {
        using var batch = new SensorBatch(1, DateTimeOffset.UnixEpoch);
        var errors = SensorReadingJson.ParseOne(new ReadOnlySequence<byte>(body), batch);
        return errors is null ? batch.Count == 1 : errors.Errors.Count > 0;
    });

    [Property(MaxTest = 1000)]
    public Property JsonBatch_EveryInput_IsReadingsOrNamedErrors() => Prop.ForAll(JsonBodies.ToArbitrary(), body =>
    {
        using var batch = new SensorBatch(SensorReadingJson.CapacityFor(body.Length, 10_000), DateTimeOffset.UnixEpoch);
        var errors = SensorReadingJson.ParseMany(new ReadOnlySequence<byte>(body), batch, 10_000);
        return errors is null ? batch.Count > 0 : errors.Errors.Count > 0;
    });

    [Property(MaxTest = 1000)]
    public Property BinaryFrame_EveryInput_IsRowsOrNamedErrors() => Prop.ForAll(Gen.OneOf(Frames, Mutated(Png)).ToArbitrary(), frame =>
    {
        if (BinaryFrame.ReadHeader(frame, 10_000, out var rows) is { } bad)
        {
            return bad.Errors.Count > 0;
        }

        using var batch = new SensorBatch(rows, DateTimeOffset.UnixEpoch);
        return BinaryFrame.ReadRows(frame, batch) is { } errors ? errors.Errors.Count > 0 : batch.Count == rows;
    });

    [Property(MaxTest = 150)]
    public Property Http_EveryBody_IsAnswered2xxOr4xx() => Prop.ForAll(JsonBodies.ToArbitrary(), body =>
    {
        using var client = server.CreateClient();
        return new[] { "/predict", "/predict-batch" }.All(path =>
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return IsAnswered(client.PostAsync(path, content).GetAwaiter().GetResult());
        });
    });

    [Property(MaxTest = 150)]
    public Property Wafer_EveryImageOrMultipartBody_IsAnswered2xxOr4xx() => Prop.ForAll(Mutated(Png, Multipart()).ToArbitrary(), body =>
    {
        using var client = server.CreateClient();
        using var raw = new ByteArrayContent(body);
        raw.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var form = new ByteArrayContent(body);
        form.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=fuzz");
        return new HttpContent[] { raw, form }.All(content => IsAnswered(client.PostAsync("/predict-wafer", content).GetAwaiter().GetResult()));
    });

    /// <summary>2xx or 4xx, or a 503 naming its reason: work not computed under the suite's load is answered too.</summary>
    private static bool IsAnswered(HttpResponseMessage response)
    {
        using (response)
        {
            var status = (int)response.StatusCode;
            return status is (>= 200 and < 300) or (>= 400 and < 500)
                || (status == 503 && response.Content.ReadAsStringAsync().GetAwaiter().GetResult().Contains("\"reason\"", StringComparison.Ordinal));
        }
    }

    /// <summary>A valid two-image multipart body with the boundary <c>fuzz</c>: the seed the mutations start from.</summary>
    private static byte[] Multipart()
    {
        using var stream = new MemoryStream();
        foreach (var name in new[] { "a.png", "b.png" })
        {
            stream.Write(Encoding.ASCII.GetBytes($"--fuzz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"));
            stream.Write(Png);
            stream.Write("\r\n"u8);
        }

        stream.Write("--fuzz--\r\n"u8);
        return stream.ToArray();
    }
}
