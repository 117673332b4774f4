using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using RealTimeInference.Server.OpenInference.Grpc;

namespace RealTimeInference.OipBench;

/// <summary>
/// The same sensor readings, from a fixed seed, encoded once per case before any run: a pool of
/// <see cref="Batches"/> batches of <c>rows</c> readings (what the batch cases send, in turn) and,
/// for the single-row cases, every reading of that pool on its own.
/// </summary>
internal sealed class Payloads
{
    public const int Batches = 16;
    public const string InputName = "Features";
    public const string OutputName = "Probability.output";

    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public Payloads(int rows, int seed)
    {
        Rows = rows;
        var random = new Random(seed);
        var readings = new float[Batches * rows][];
        for (var i = 0; i < readings.Length; i++)
        {
            readings[i] = [350 + Noise(random, 5), 1013 + Noise(random, 8), 100 + Noise(random, 3)];
        }

        var batches = Enumerable.Range(0, Batches).Select(b => readings.AsSpan(b * rows, rows).ToArray()).ToArray();
        PredictBatch = [.. batches.Select(b => Encoding.UTF8.GetBytes("[" + string.Join(",", b.Select(ReadingJson)) + "]"))];
        V2Json = [.. batches.Select(b => Encoding.UTF8.GetBytes(V2JsonBody(b)))];
        V2Binary = [.. batches.Select(V2BinaryBody)];
        GrpcRaw = [.. batches.Select(RawRequest)];
        GrpcTyped = [.. batches.Select(TypedRequest)];
        Predict = [.. readings.Select(r => Encoding.UTF8.GetBytes(ReadingJson(r)))];
        GrpcSingle = [.. readings.Select(r => RawRequest([r]))];
        MlpSingle = [.. Enumerable.Range(0, 256).Select(_ => Encoding.UTF8.GetBytes(
            $$"""{"inputs":[{"name":"sensors","shape":[1,12],"datatype":"FP32","data":[{{string.Join(",", Enumerable.Range(0, 12).Select(_ => Noise(random, 1).ToString("R", Culture)))}}]}]}"""))];
        CnnBinary = [.. Enumerable.Range(0, 64).Select(_ => CnnBody(random))];
        Readings = [.. Enumerable.Range(0, Batches).Select(_ => Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Range(0, rows).Select(_ => ContextReading(random))) + "]"))];
    }

    /// <summary>Tools etch-00..09 with chambers A..J: the 100 chambers whose own models bench/readings.sh serves.</summary>
    public const int Tools = 10;

    /// <summary>The sensors of each chamber's model (bench/readings.sh exports it): s00..s19.</summary>
    public const int Sensors = 20;

    /// <summary>POST /readings bodies: <c>rows</c> readings with context, each of a random one of the 100 chambers, 20 sensors each.</summary>
    public byte[][] Readings { get; }

    private static string ContextReading(Random random)
    {
        var tool = random.Next(Tools);
        var chamber = (char)('A' + random.Next(Tools));
        var values = string.Join(",", Enumerable.Range(0, Sensors).Select(s => $"\"s{s:00}\":{Noise(random, 1).ToString("R", Culture)}"));
        var context = $$"""{"tool_id":"etch-{{tool:00}}","chamber_id":"{{chamber}}","recipe":"poly-etch","step":"main-etch","lot_id":"lot-1","wafer_id":"w{{random.Next(25):00}}"}""";
        return "{\"context\":" + context + ",\"values\":{" + values + "}}";
    }

    /// <summary>V2 REST JSON, one row of the 12-sensor MLP that PyTorch exported (tests/ForeignModels/fab-sensor-mlp).</summary>
    public byte[][] MlpSingle { get; }

    /// <summary>V2 REST binary tensors, one 1x28x28 image of PyTorch's CNN (tests/ForeignModels/fab-defect-cnn), binary output.</summary>
    public (byte[] Body, int HeaderLength)[] CnnBinary { get; }

    private static (byte[] Body, int HeaderLength) CnnBody(Random random)
    {
        var header = Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"image","shape":[1,1,28,28],"datatype":"FP32","parameters":{"binary_data_size":3136}}],"parameters":{"binary_data_output":true}}""");
        var body = new byte[header.Length + (28 * 28 * sizeof(float))];
        header.CopyTo(body, 0);
        for (var i = 0; i < 28 * 28; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(header.Length + (i * sizeof(float))), (float)random.NextDouble());
        }

        return (body, header.Length);
    }

    public int Rows { get; }

    /// <summary><c>/predict-batch</c>: a JSON array of readings.</summary>
    public byte[][] PredictBatch { get; }

    /// <summary>V2 REST, JSON tensors both ways.</summary>
    public byte[][] V2Json { get; }

    /// <summary>V2 REST, binary tensor extension both ways: the JSON header, then little-endian FP32.</summary>
    public (byte[] Body, int HeaderLength)[] V2Binary { get; }

    /// <summary>V2 gRPC with <c>raw_input_contents</c>.</summary>
    public ModelInferRequest[] GrpcRaw { get; }

    /// <summary>V2 gRPC with typed <c>fp32_contents</c>.</summary>
    public ModelInferRequest[] GrpcTyped { get; }

    /// <summary><c>/predict</c>: one reading.</summary>
    public byte[][] Predict { get; }

    /// <summary>V2 gRPC, one row, <c>raw_input_contents</c>.</summary>
    public ModelInferRequest[] GrpcSingle { get; }

    private static float Noise(Random random, double scale) => (float)(((random.NextDouble() * 2) - 1) * scale);

    private static string Number(float value) => value.ToString("R", Culture);

    private static string ReadingJson(float[] r) =>
        $$"""{"temperature":{{Number(r[0])}},"pressure":{{Number(r[1])}},"flow_rate":{{Number(r[2])}}}""";

    private static string V2JsonBody(float[][] rows) =>
        $$"""{"inputs":[{"name":"{{InputName}}","shape":[{{rows.Length}},3],"datatype":"FP32","data":[{{string.Join(",", rows.SelectMany(r => r).Select(Number))}}]}]}""";

    private static byte[] Fp32Bytes(float[][] rows)
    {
        var bytes = new byte[rows.Length * 3 * sizeof(float)];
        var i = 0;
        foreach (var value in rows.SelectMany(r => r))
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i), value);
            i += sizeof(float);
        }

        return bytes;
    }

    private static (byte[] Body, int HeaderLength) V2BinaryBody(float[][] rows)
    {
        var data = Fp32Bytes(rows);
        var header = Encoding.UTF8.GetBytes(
            $$$"""{"parameters":{"binary_data_output":true},"inputs":[{"name":"{{{InputName}}}","shape":[{{{rows.Length}}},3],"datatype":"FP32","parameters":{"binary_data_size":{{{data.Length}}}}}]}""");
        return ([.. header, .. data], header.Length);
    }

    private static ModelInferRequest Request(int rows)
    {
        var request = new ModelInferRequest { ModelName = "sensor-anomaly" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = InputName, Datatype = "FP32" };
        input.Shape.Add([rows, 3L]);
        request.Inputs.Add(input);
        return request;
    }

    private static ModelInferRequest RawRequest(float[][] rows)
    {
        var request = Request(rows.Length);
        request.RawInputContents.Add(ByteString.CopyFrom(Fp32Bytes(rows)));
        return request;
    }

    private static ModelInferRequest TypedRequest(float[][] rows)
    {
        var request = Request(rows.Length);
        request.Inputs[0].Contents = new InferTensorContents();
        request.Inputs[0].Contents.Fp32Contents.Add(rows.SelectMany(r => r));
        return request;
    }
}
