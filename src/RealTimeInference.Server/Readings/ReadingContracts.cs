using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Readings;

/// <summary>A reading with its context, as clients send it (documented in Swagger; parsed by <see cref="ReadingJson"/>).</summary>
/// <param name="Timestamp">RFC 3339 time of the reading; optional, the arrival time when left out.</param>
/// <param name="Context">Where it was taken: <c>tool_id</c> (required), <c>chamber_id</c>, <c>recipe</c>, <c>step</c>, <c>lot_id</c>, <c>wafer_id</c>.</param>
/// <param name="Values">The sensors' values by name: the model's inputs, or the sensors its <c>features</c> name.</param>
internal sealed record ReadingRequest(string? Timestamp, ReadingContext Context, IReadOnlyDictionary<string, float> Values);

/// <summary>The answer to one reading.</summary>
/// <param name="Prediction">The model's fault probability.</param>
/// <param name="IsAnomaly">Whether it reaches the model's threshold (model.json).</param>
/// <param name="Timestamp">The reading's timestamp, or the server's time when none was sent; RFC 3339 UTC.</param>
/// <param name="Context">The reading's context, as sent.</param>
/// <param name="LatencyMs">Server time spent on this request, measured.</param>
/// <param name="Model">The model that answered: the one the context routes to, or its fallback.</param>
/// <param name="ModelVersion">Its version.</param>
/// <param name="Fallback">True when the routed model failed and its fallback answered.</param>
internal sealed record ReadingResponse(
    float Prediction,
    bool IsAnomaly,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp,
    ReadingContext Context,
    double LatencyMs,
    string Model,
    int ModelVersion,
    bool Fallback)
{
    /// <summary>The broker message answered (its id, or a digest of its body); absent over HTTP and WebSocket.</summary>
    public string? MessageId { get; init; }
}

/// <summary>One reading's answer in an array's.</summary>
internal readonly record struct ReadingResult(float Prediction, bool IsAnomaly, string Model, int ModelVersion, bool Fallback);

/// <param name="Count">Readings scored.</param>
/// <param name="LatencyMs">Server time spent on the whole request, measured.</param>
/// <param name="Results">One answer per reading, in request order.</param>
/// <param name="Anomalies">Indexes of the readings whose probability reaches their model's threshold.</param>
internal sealed record ReadingsResponse(
    int Count,
    double LatencyMs,
    [property: JsonConverter(typeof(ReadingResultsConverter))] IReadOnlyList<ReadingResult> Results,
    IReadOnlyList<int> Anomalies)
{
    /// <summary>The broker message answered; absent over HTTP and WebSocket.</summary>
    public string? MessageId { get; init; }
}

/// <summary>Writes an array's answers straight from the structs (the default converter boxes each one).</summary>
internal sealed class ReadingResultsConverter : JsonConverter<IReadOnlyList<ReadingResult>>
{
    private static readonly JsonEncodedText Prediction = JsonEncodedText.Encode("prediction");
    private static readonly JsonEncodedText IsAnomaly = JsonEncodedText.Encode("is_anomaly");
    private static readonly JsonEncodedText Model = JsonEncodedText.Encode("model");
    private static readonly JsonEncodedText ModelVersion = JsonEncodedText.Encode("model_version");
    private static readonly JsonEncodedText Fallback = JsonEncodedText.Encode("fallback");

    public override IReadOnlyList<ReadingResult> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("Answers are written, never read.");

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<ReadingResult> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        for (var i = 0; i < value.Count; i++)
        {
            var result = value[i];
            writer.WriteStartObject();
            writer.WriteNumber(Prediction, result.Prediction);
            writer.WriteBoolean(IsAnomaly, result.IsAnomaly);
            writer.WriteString(Model, result.Model);
            writer.WriteNumber(ModelVersion, result.ModelVersion);
            writer.WriteBoolean(Fallback, result.Fallback);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}

/// <summary>The answers to scored readings, the same whichever way they came in.</summary>
internal static class ReadingAnswers
{
    /// <summary>The answer to a request of one reading.</summary>
    public static ReadingResponse One(ReadingBatch batch, double latencyMs)
    {
        var model = batch.Models[0]!;
        var reading = batch.Readings[0];
        var score = batch.Scores[0];
        return new ReadingResponse(score, score >= model.Manifest.Threshold, reading.Timestamp, reading.Context, latencyMs, model.Name, model.Version, batch.Fallbacks[0]);
    }

    /// <summary>The answer to an array of readings.</summary>
    public static ReadingsResponse Many(ReadingBatch batch, double latencyMs)
    {
        var scores = batch.Scores;
        var models = batch.Models;
        var results = new ReadingResult[batch.Count];
        var anomalies = new List<int>();
        for (var i = 0; i < results.Length; i++)
        {
            var model = models[i]!;
            var anomaly = scores[i] >= model.Manifest.Threshold;
            results[i] = new ReadingResult(scores[i], anomaly, model.Name, model.Version, batch.Fallbacks[i]);
            if (anomaly)
            {
                anomalies.Add(i);
            }
        }

        return new ReadingsResponse(results.Length, latencyMs, results, anomalies);
    }
}

/// <summary>A wafer's run as <c>POST /traces</c> takes it.</summary>
/// <param name="Timestamp">When the run started (RFC 3339); the arrival time when left out.</param>
/// <param name="Context">Where it ran: <c>tool_id</c> (required), <c>chamber_id</c>, <c>recipe</c>, <c>lot_id</c>, <c>wafer_id</c>.</param>
/// <param name="IntervalS">Seconds between two samples of a sensor (0.1 at 10 Hz).</param>
/// <param name="Steps">The recipe's steps as they ran: name, start and end in seconds from the start.</param>
/// <param name="Sensors">Each sensor's samples, from the start, one every <c>interval_s</c>.</param>
internal sealed record TraceRequest(
    string? Timestamp, ReadingContext? Context, double? IntervalS, IReadOnlyList<TraceStepRequest>? Steps, IReadOnlyDictionary<string, float[]>? Sensors);

internal sealed record TraceStepRequest(string? Name, double? StartS, double? EndS);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReadingRequest))]
[JsonSerializable(typeof(ReadingResponse))]
[JsonSerializable(typeof(ReadingsResponse))]
[JsonSerializable(typeof(TraceRequest))]
internal sealed partial class ReadingJsonContext : JsonSerializerContext;
