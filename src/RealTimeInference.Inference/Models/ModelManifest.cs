using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Inference.Batching;

namespace RealTimeInference.Inference.Models;

/// <summary>
/// <c>models/&lt;name&gt;/model.json</c>: how to feed a model, how to read its output, how to
/// batch it, and where it came from. Written by the training CLI, read by the server.
/// An image model adds <see cref="Preprocessing"/> (how an image becomes its input tensor, which
/// then replaces <c>input.features</c>) and <see cref="Classes"/> (one output per class, in order).
/// </summary>
public sealed record ModelManifest(
    string Name,
    string Description,
    ModelInput Input,
    ModelOutput Output,
    double Threshold,
    BatchingSettings Batching,
    ThreadSettings Threads,
    string? Fallback,
    Provenance Provenance,
    IReadOnlyDictionary<string, double> Metrics,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImagePreprocessing? Preprocessing = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Classes = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<IReadOnlyList<int>>? ConfusionMatrix = null)
{
    public const string FileName = "model.json";

    public static ModelManifest Load(string path)
    {
        using var stream = File.OpenRead(path);
        var manifest = JsonSerializer.Deserialize(stream, ModelManifestJsonContext.Default.ModelManifest)
            ?? throw new InvalidDataException($"{path}: empty model manifest.");
        var errors = manifest.Validate();
        return errors.Count == 0
            ? manifest
            : throw new InvalidDataException($"{path}: invalid model manifest: {string.Join("; ", errors)}");
    }

    /// <summary>Floats per input row: the image tensor's length for an image model, else one per listed feature.</summary>
    [JsonIgnore]
    public int InputLength => Preprocessing?.TensorLength ?? Input.Features.Count;

    /// <summary>One input row's tensor shape, without the batch dimension.</summary>
    [JsonIgnore]
    public IReadOnlyList<int> InputShape => Preprocessing?.Shape ?? [Input.Features.Count];

    /// <summary>Scores per row: one per class for a classifier with <see cref="Classes"/>, else one.</summary>
    [JsonIgnore]
    public int OutputCount => Classes?.Count ?? 1;

    public void Save(string path)
    {
        using var stream = File.Create(path);
        JsonSerializer.Serialize(stream, this, Readable.ModelManifest);
    }

    /// <summary>model.json is read by people too: keep '>' and '+' as they are rather than \u escapes.</summary>
    private static readonly ModelManifestJsonContext Readable = new(
        new JsonSerializerOptions(ModelManifestJsonContext.Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>Every problem with the manifest, each naming its field; empty when it is usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Name))
        {
            errors.Add("name is required");
        }

        if (Input is null || string.IsNullOrWhiteSpace(Input.Name))
        {
            errors.Add("input.name is required");
        }
        else if (Preprocessing is null && Input.Features is not { Count: > 0 })
        {
            errors.Add("input.features must list at least one feature (or preprocessing must describe the image input)");
        }

        if (Preprocessing is not null)
        {
            errors.AddRange(Preprocessing.Validate());
        }

        if (Classes is not null && (Classes.Count < 2 || Classes.Any(string.IsNullOrWhiteSpace) || Classes.Distinct().Count() != Classes.Count))
        {
            errors.Add("classes must list at least two distinct, non-empty names");
        }

        if (Output is null || string.IsNullOrWhiteSpace(Output.Name))
        {
            errors.Add("output.name is required");
        }

        if (double.IsNaN(Threshold) || Threshold is < 0 or > 1)
        {
            errors.Add("threshold must be within [0, 1]");
        }

        if (Batching is null)
        {
            errors.Add("batching is required");
        }
        else
        {
            if (Batching.MaxBatchSize < 1)
            {
                errors.Add("batching.max_batch_size must be at least 1");
            }

            if (Batching.QueueCapacity < 1)
            {
                errors.Add("batching.queue_capacity must be at least 1");
            }

            if (Batching.MaxQueueDelayMs < 0)
            {
                errors.Add("batching.max_queue_delay_ms must not be negative");
            }

            if (!AdmissionSettings.TryParsePolicy(Batching.Admission, out _))
            {
                errors.Add($"batching.admission must be one of {string.Join(", ", AdmissionSettings.PolicyNames)}");
            }

            if (Batching.SampleKeepEvery < 1 || Batching.SampleWatermarkRows < 0)
            {
                errors.Add("batching.sample_keep_every must be at least 1 and batching.sample_watermark_rows not negative");
            }
        }

        if (Threads is null || Threads.IntraOp < 1 || Threads.InterOp < 1)
        {
            errors.Add("threads.intra_op and threads.inter_op must be at least 1");
        }

        return errors;
    }
}

/// <summary>
/// The model's one input tensor, shaped [rows, features.Count], and the wire fields that fill it in
/// order; for an image model, shaped [rows, ..preprocessing shape] and <c>features</c> may be empty.
/// </summary>
public sealed record ModelInput(string Name, IReadOnlyList<string> Features);

/// <summary>The output tensor read as the score: one value per row, or one per class when the manifest lists classes.</summary>
public sealed record ModelOutput(string Name, string Kind);

/// <summary>
/// How requests queue for the model. <c>admission</c> is what a full queue does: buffer, sample,
/// shed-oldest or shed-newest (see <see cref="AdmissionPolicy"/>).
/// </summary>
public sealed record BatchingSettings(
    int MaxBatchSize,
    double MaxQueueDelayMs,
    int QueueCapacity,
    string Admission = "buffer",
    int SampleWatermarkRows = 0,
    int SampleKeepEvery = 1)
{
    public AdmissionSettings ToAdmission() =>
        AdmissionSettings.TryParsePolicy(Admission, out var policy)
            ? new AdmissionSettings(policy, SampleWatermarkRows, SampleKeepEvery)
            : throw new InvalidOperationException($"Unknown admission policy '{Admission}'.");
}

public sealed record ThreadSettings(int IntraOp, int InterOp);

public sealed record Provenance(
    string Trainer,
    int Seed,
    int TrainRows,
    int TestRows,
    string Generator,
    string Framework,
    string ExportedBy);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ModelManifestJsonContext : JsonSerializerContext;
