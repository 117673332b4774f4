using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Wafers;

/// <summary>The model's answer for one image.</summary>
/// <param name="DefectDetected">Whether 1 - P(none) reaches the model's threshold (model.json).</param>
/// <param name="DefectType">The most probable defect class when a defect is detected, else "none".</param>
/// <param name="Confidence">The model's probability for the verdict: 1 - P(none) when a defect is detected, else P(none).</param>
/// <param name="ClassProbabilities">The model's probability for each class.</param>
internal sealed record WaferVerdict(
    bool DefectDetected,
    string DefectType,
    float Confidence,
    IReadOnlyDictionary<string, float> ClassProbabilities);

/// <summary>Where the request's time went, measured on the server.</summary>
/// <param name="PreprocessMs">Decoding and preprocessing the image(s).</param>
/// <param name="QueueMs">Waiting in the model's queue for a batch.</param>
/// <param name="InferenceMs">The ONNX run of the batch the image(s) joined.</param>
/// <param name="BatchImages">Images in that ONNX run (from this and concurrent requests).</param>
internal sealed record WaferTimings(double PreprocessMs, double QueueMs, double InferenceMs, int BatchImages);

/// <param name="DefectDetected">Whether 1 - P(none) reaches the model's threshold (model.json).</param>
/// <param name="DefectType">The most probable defect class when a defect is detected, else "none".</param>
/// <param name="Confidence">The model's probability for the verdict.</param>
/// <param name="ClassProbabilities">The model's probability for each class.</param>
/// <param name="LatencyMs">Server time spent on this request, measured.</param>
/// <param name="Model">Name of the model that answered.</param>
/// <param name="ModelVersion">Version of the model that answered.</param>
/// <param name="Timings">Preprocess, queue and inference time.</param>
internal sealed record WaferPredictionResponse(
    bool DefectDetected,
    string DefectType,
    float Confidence,
    IReadOnlyDictionary<string, float> ClassProbabilities,
    double LatencyMs,
    string Model,
    int ModelVersion,
    WaferTimings Timings);

/// <param name="Predictions">One verdict per image part, in request order.</param>
/// <param name="Files">The file name of each part, in the same order.</param>
/// <param name="Count">Images scored.</param>
/// <param name="Defects">Indexes of the images with a defect detected.</param>
/// <param name="LatencyMs">Server time spent on the whole request, measured.</param>
/// <param name="Model">Name of the model that answered.</param>
/// <param name="ModelVersion">Version of the model that answered.</param>
/// <param name="Timings">Preprocess, queue and inference time of the request.</param>
internal sealed record WaferBatchResponse(
    IReadOnlyList<WaferVerdict> Predictions,
    IReadOnlyList<string> Files,
    int Count,
    IReadOnlyList<int> Defects,
    double LatencyMs,
    string Model,
    int ModelVersion,
    WaferTimings Timings);

/// <summary>One camera frame over /ws/webcam.</summary>
/// <param name="Frame">Base64 PNG or JPEG (a data: URL prefix is allowed).</param>
internal sealed record WebcamFrame(string? Frame);

/// <summary>The seed's webcam answer plus the class detail.</summary>
internal sealed record WebcamVerdict(
    bool DefectDetected,
    float Confidence,
    [property: JsonConverter(typeof(WireTimeConverter))] DateTimeOffset Timestamp,
    string DefectType,
    IReadOnlyDictionary<string, float> ClassProbabilities,
    double LatencyMs,
    string Model,
    int ModelVersion);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(WaferPredictionResponse))]
[JsonSerializable(typeof(WaferBatchResponse))]
[JsonSerializable(typeof(WebcamFrame))]
[JsonSerializable(typeof(WebcamVerdict))]
internal sealed partial class WaferJsonContext : JsonSerializerContext;
