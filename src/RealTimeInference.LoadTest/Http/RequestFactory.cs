using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.LoadTest.Options;

namespace RealTimeInference.LoadTest.Http;

/// <summary>
/// Serializes request bodies once, before any load: realistic readings from a fixed seed,
/// temperature N(350, 5), pressure N(1013, 10), flow rate N(100, 2), one second apart.
/// </summary>
internal static class RequestFactory
{
    /// <summary>Bounds the pool by readings so a 1000-reading batch pool stays a few megabytes.</summary>
    private const int PoolReadingBudget = 65_536;
    private const int MaxPoolSize = 1024;
    private const int MinPoolSize = 8;

    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static (string Target, string? Baseline) Paths(ScenarioKind scenario) => scenario switch
    {
        ScenarioKind.Predict => ("/predict", "/baseline/predict"),
        ScenarioKind.PredictBatch => ("/predict-batch", "/baseline/predict-batch"),
        ScenarioKind.Wafer => ("/predict-wafer", null),
        ScenarioKind.WsJson or ScenarioKind.WsBinary => ("/ws/predict", scenario == ScenarioKind.WsJson ? "/predict" : "/predict-batch"),
        ScenarioKind.SseSubscribers => ("/predict", "/predict"),
        _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
    };

    public static string Name(ScenarioKind scenario) => scenario switch
    {
        ScenarioKind.Predict => "predict",
        ScenarioKind.PredictBatch => "predict-batch",
        ScenarioKind.WsJson => "ws-json",
        ScenarioKind.WsBinary => "ws-binary",
        ScenarioKind.SseSubscribers => "sse-subscribers",
        _ => "wafer",
    };

    /// <summary>
    /// WS /ws/predict binary frames of <paramref name="rows"/> readings each, the same readings as
    /// <see cref="CreateBodies"/> gives a batch of that size: "RTI" 0x01, uint32 rows, uint32 3, float32 LE rows.
    /// </summary>
    public static byte[][] CreateFrames(int rows, int seed)
    {
        var random = new Random(seed);
        var frames = new byte[PoolSize(rows)][];
        for (var i = 0; i < frames.Length; i++)
        {
            var frame = new byte[12 + (rows * 12)];
            "RTI\u0001"u8.CopyTo(frame);
            BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), (uint)rows);
            BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(8), 3);
            for (var r = 0; r < rows; r++)
            {
                var (temperature, pressure, flow) = NextReading(random);
                BinaryPrimitives.WriteSingleLittleEndian(frame.AsSpan(12 + (r * 12)), (float)temperature);
                BinaryPrimitives.WriteSingleLittleEndian(frame.AsSpan(16 + (r * 12)), (float)pressure);
                BinaryPrimitives.WriteSingleLittleEndian(frame.AsSpan(20 + (r * 12)), (float)flow);
            }

            frames[i] = frame;
        }

        return frames;
    }

    /// <summary>Wafer-map PNGs of every class from a fixed seed, rendered as an inspection tool would send them.</summary>
    public static byte[][] CreateImages(int imageSize, int seed, int count = 256)
    {
        var generator = new WaferMapGenerator(seed);
        return [.. generator.Generate((count + WaferPatterns.All.Count - 1) / WaferPatterns.All.Count).Take(count)
            .Select(map => WaferMapRenderer.Render(map, imageSize))];
    }

    public static int PoolSize(int readingsPerRequest) =>
        Math.Clamp(PoolReadingBudget / readingsPerRequest, MinPoolSize, MaxPoolSize);

    public static byte[][] CreateBodies(ScenarioKind scenario, int batchSize, int seed)
    {
        var perRequest = scenario is ScenarioKind.PredictBatch or ScenarioKind.WsBinary ? batchSize : 1;
        var random = new Random(seed);
        var bodies = new byte[PoolSize(perRequest)][];
        var buffer = new ArrayBufferWriter<byte>(perRequest * 112);
        var sequence = 0;
        for (var i = 0; i < bodies.Length; i++)
        {
            buffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                if (perRequest > 1)
                {
                    writer.WriteStartArray();
                    for (var r = 0; r < perRequest; r++)
                    {
                        WriteReading(writer, random, sequence++);
                    }

                    writer.WriteEndArray();
                }
                else
                {
                    WriteReading(writer, random, sequence++);
                }
            }

            bodies[i] = buffer.WrittenSpan.ToArray();
        }

        return bodies;
    }

    private static void WriteReading(Utf8JsonWriter writer, Random random, int sequence)
    {
        var (temperature, pressure, flow) = NextReading(random);
        writer.WriteStartObject();
        writer.WriteString("timestamp", Epoch.AddSeconds(sequence).UtcDateTime);
        writer.WriteNumber("temperature", temperature);
        writer.WriteNumber("pressure", pressure);
        writer.WriteNumber("flow_rate", flow);
        writer.WriteEndObject();
    }

    private static (double Temperature, double Pressure, double Flow) NextReading(Random random) =>
        (Math.Round(Gaussian(random, 350, 5), 2), Math.Round(Gaussian(random, 1013, 10), 2), Math.Round(Gaussian(random, 100, 2), 2));

    /// <summary>Box-Muller: two uniforms to one standard normal.</summary>
    private static double Gaussian(Random random, double mean, double stdDev)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return mean + (stdDev * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }
}
