using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Inference.Models;

/// <summary>
/// <c>models/&lt;name&gt;/model.json</c>: how to feed a model, how to read its output, how to
/// batch it, and where it came from. Written by the training CLI, read by the server. Every field
/// is optional: a model folder without model.json is served from its ONNX signature, and the
/// fields given override the defaults (<see cref="Complete"/>). <c>input</c>/<c>output</c> name
/// the one FP32 input and output that the server's own row endpoints (/predict, /predict-yield,
/// /predict-wafer) score; <c>inputs</c>/<c>outputs</c> (Triton's <c>input</c>/<c>output</c>) describe
/// any of the graph's tensors. An image model adds <see cref="Preprocessing"/> (how an image becomes
/// its input tensor, which then replaces <c>input.features</c>) and <see cref="Classes"/> (one output
/// per class, in order).
/// </summary>
public sealed record ModelManifest(
    string Name = "",
    string Description = "",
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ModelInput? Input = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ModelOutput? Output = null,
    double Threshold = 0.5,
    BatchingSettings? Batching = null,
    ThreadSettings? Threads = null,
    string? Fallback = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Provenance? Provenance = null,
    IReadOnlyDictionary<string, double>? Metrics = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImagePreprocessing? Preprocessing = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Classes = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<IReadOnlyList<int>>? ConfusionMatrix = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<TensorConfig>? Inputs = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<TensorConfig>? Outputs = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LatencyClass = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] VersionPolicy? VersionPolicy = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<WarmupSample>? ModelWarmup = null)
{
    public const string FileName = "model.json";

    public BatchingSettings Batching { get; init; } = Batching ?? new BatchingSettings();

    public ThreadSettings Threads { get; init; } = Threads ?? ThreadSettings.Default;

    public IReadOnlyDictionary<string, double> Metrics { get; init; } = Metrics ?? new Dictionary<string, double>();

    /// <summary>Reads and checks model.json on its own (no model file at hand): every problem named by its field and the file.</summary>
    public static ModelManifest Load(string path)
    {
        var manifest = Read(path);
        var errors = manifest.Validate();
        return errors.Count == 0
            ? manifest
            : throw new InvalidDataException($"{path}: invalid model manifest: {string.Join("; ", errors)}");
    }

    /// <summary>Reads model.json as written, unchecked but for its JSON (a bad value names its field).</summary>
    public static ModelManifest Read(string path)
    {
        using var stream = File.OpenRead(path);
        try
        {
            return JsonSerializer.Deserialize(stream, ModelManifestJsonContext.Default.ModelManifest)
                ?? throw new InvalidDataException($"{path}: empty model manifest.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: {(ex.Path is { } field ? $"field {field.TrimStart('$', '.')}: " : "")}{ex.Message}", ex);
        }
    }

    /// <summary>
    /// This manifest completed from the model's <paramref name="signature"/> — the name from its
    /// folder, every input and output the graph declares with the overrides of <c>inputs</c>/<c>outputs</c> —
    /// and checked against it; the errors name their fields.
    /// </summary>
    public ModelManifest Complete(string folderName, ModelSignature signature, out IReadOnlyList<string> errors)
    {
        var completed = this with
        {
            Name = string.IsNullOrWhiteSpace(Name) ? folderName : Name,
            Inputs = Merge("inputs", Inputs, signature.Inputs, signature.HasBatchDimension, out var inputErrors),
            Outputs = Merge("outputs", Outputs, signature.Outputs, signature.HasBatchDimension, out var outputErrors),
        };
        var all = completed.Validate().Concat(inputErrors).Concat(outputErrors).Concat(completed.CheckRowTensors(signature)).ToList();
        foreach (var (sample, i) in (ModelWarmup ?? []).Select((w, i) => (w, i)))
        {
            foreach (var input in (sample.Inputs ?? new Dictionary<string, WarmupInput>()).Keys.Where(k => signature.Input(k) is null))
            {
                all.Add($"model_warmup[{i}].inputs.{input} is not an input of the model");
            }
        }

        errors = all;
        return completed;
    }

    /// <summary>The latency class a request that names none gets: <c>latency_class</c>, else <c>batching.default_priority_level</c>; null when neither is set.</summary>
    [JsonIgnore]
    public LatencyClass? DefaultClass =>
        LatencyClass is { } name && LatencyClasses.TryParse(name, out var named) ? named
        : Batching.DefaultPriorityLevel is >= 1 and <= LatencyClasses.Count ? LatencyClasses.All[Batching.DefaultPriorityLevel - 1]
        : null;

    /// <summary>Floats per input row: the image tensor's length for an image model, else one per listed feature.</summary>
    [JsonIgnore]
    public int InputLength => Preprocessing?.TensorLength ?? Input?.Features.Count ?? 0;

    /// <summary>One input row's tensor shape, without the batch dimension.</summary>
    [JsonIgnore]
    public IReadOnlyList<int> InputShape => Preprocessing?.Shape ?? [Input?.Features.Count ?? 0];

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

    /// <summary>Every problem with the manifest that needs no model file to find, each naming its field; empty when it is usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Name))
        {
            errors.Add("name is required");
        }

        const string RowPair = " (input and output name the one FP32 input and output the row endpoints score)";
        if ((Input is not null || Output is not null) && string.IsNullOrWhiteSpace(Input?.Name))
        {
            errors.Add("input.name is required" + RowPair);
        }
        else if (Input is not null && Preprocessing is null && Input.Features is not { Count: > 0 })
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

        if ((Input is not null || Output is not null) && string.IsNullOrWhiteSpace(Output?.Name))
        {
            errors.Add("output.name is required" + RowPair);
        }

        if (double.IsNaN(Threshold) || Threshold is < 0 or > 1)
        {
            errors.Add("threshold must be within [0, 1]");
        }

        errors.AddRange(Batching.Validate());
        if (LatencyClass is { } latencyClass && !LatencyClasses.TryParse(latencyClass, out _))
        {
            errors.Add($"latency_class '{latencyClass}' is none of {string.Join(", ", LatencyClasses.All.Select(c => c.Name()))}");
        }
        else if (LatencyClass is not null && Batching.DefaultPriorityLevel > 0
            && LatencyClasses.TryParse(LatencyClass, out var named) && Batching.DefaultPriorityLevel <= LatencyClasses.Count
            && named != LatencyClasses.All[Batching.DefaultPriorityLevel - 1])
        {
            errors.Add("latency_class and batching.default_priority_level name different classes; give one");
        }

        if (VersionPolicy is not null)
        {
            errors.AddRange(VersionPolicy.Validate());
        }

        foreach (var (sample, i) in (ModelWarmup ?? []).Select((w, i) => (w, i)))
        {
            if (sample.BatchSize < 1 || sample.BatchSize > Batching.MaxBatchSize)
            {
                errors.Add($"model_warmup[{i}].batch_size must be within 1..batching.max_batch_size ({Batching.MaxBatchSize})");
            }

            foreach (var (input, data) in sample.Inputs ?? new Dictionary<string, WarmupInput>())
            {
                if (data.ZeroData == data.RandomData)
                {
                    errors.Add($"model_warmup[{i}].inputs.{input}: give one of zero_data or random_data");
                }
            }
        }

        if (Threads.IntraOp < 1 || Threads.InterOp < 1)
        {
            errors.Add("threads.intra_op and threads.inter_op must be at least 1");
        }

        return errors;
    }

    /// <summary>The input and output of the row endpoints (<c>input</c>, <c>output</c>), checked against the graph.</summary>
    private IEnumerable<string> CheckRowTensors(ModelSignature signature)
    {
        if (Input is not { Name: { Length: > 0 } inputName } || Output is not { Name: { Length: > 0 } outputName })
        {
            yield break;
        }

        if (signature.Input(inputName) is not { } input)
        {
            yield return $"input.name '{inputName}' is not an input of the ONNX model (it has: {string.Join(", ", signature.Inputs.Select(i => i.Name))})";
        }
        else
        {
            // A dynamic (-1) dimension fits any size; the batch dimension always is.
            var expected = InputShape;
            if (input.Type != TensorType.Fp32 || input.Dims.Length != expected.Count + 1
                || expected.Where((d, i) => input.Dims[i + 1] >= 0 && input.Dims[i + 1] != d).Any())
            {
                yield return $"input '{inputName}' must be FP32[N, {string.Join(", ", expected)}] to match input.features (or preprocessing); the model has {input}";
            }
        }

        if (signature.Inputs.Count != 1)
        {
            yield return $"input names the one input of the row endpoints, but the ONNX model has {signature.Inputs.Count}: leave input and output out and call it through /v2";
        }

        if (signature.Output(outputName) is not { Type: TensorType.Fp32 })
        {
            yield return $"output.name '{outputName}' is not an FP32 output of the ONNX model (it has: {string.Join(", ", signature.Outputs)})";
        }
    }

    /// <summary>The graph's tensors with model.json's overrides; an override that names no tensor, or contradicts the graph, is an error.</summary>
    private static List<TensorConfig> Merge(string field, IReadOnlyList<TensorConfig>? overrides, IReadOnlyList<TensorSpec> graph, bool batched, out List<string> errors)
    {
        errors = [];
        var given = (overrides ?? []).Select((config, index) => (config, index)).ToList();
        foreach (var (config, index) in given.Where(g => graph.All(t => t.Name != g.config.Name)))
        {
            errors.Add($"{field}[{index}].name '{config.Name}' is not one of the model's {field} ({string.Join(", ", graph.Select(t => t.Name))})");
        }

        var merged = new List<TensorConfig>();
        foreach (var spec in graph)
        {
            var dims = batched ? spec.Dims[1..] : spec.Dims;
            if (given.FirstOrDefault(g => g.config.Name == spec.Name) is not ({ } config, var index))
            {
                merged.Add(new TensorConfig(spec.Name, spec.Type.Name(), dims));
                continue;
            }

            var at = $"{field}[{index}]";
            if (config.DataType is { } type && type != spec.Type.Name())
            {
                errors.Add($"{at}.data_type is {type}; the model's '{spec.Name}' is {spec.Type.Name()}");
            }

            if (config.Dims is { } configDims
                && (configDims.Count != dims.Length || configDims.Where((d, k) => d < 0 || dims[k] >= 0 && d != dims[k]).Any()))
            {
                errors.Add($"{at}.dims [{string.Join(",", configDims)}] do not fit the model's '{spec.Name}' [{string.Join(",", dims)}]{(batched ? " (without the batch dimension)" : "")}");
            }

            var finalDims = config.Dims?.ToArray() ?? dims;
            if (config.Features is { } features
                && (finalDims.Length != 1 || (finalDims[0] >= 0 && finalDims[0] != features.Count) || features.Distinct().Count() != features.Count))
            {
                errors.Add($"{at}.features must name each value of a row of '{spec.Name}' [{string.Join(",", finalDims)}] once");
            }

            merged.Add(new TensorConfig(spec.Name, spec.Type.Name(), finalDims, config.Features));
        }

        return merged;
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
/// One input or output of the graph, as Triton's model configuration names it: <c>data_type</c>
/// (the protocol's name, FP32, INT64, …), <c>dims</c> without the batch dimension (-1: any size),
/// and, for a row of named values, <c>features</c> naming each.
/// </summary>
public sealed record TensorConfig(
    string Name,
    string? DataType = null,
    IReadOnlyList<long>? Dims = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Features = null);

/// <summary>
/// How requests queue for the model. <c>admission</c> is what a full queue does: buffer, sample,
/// shed-oldest or shed-newest (see <see cref="AdmissionPolicy"/>). Triton's dynamic-batching names:
/// <c>preferred_batch_size</c> (a held batch, <c>max_queue_delay_ms</c>, runs as soon as it reaches
/// one), <c>priority_levels</c> (how many of the latency classes a request's priority may pick, 1 the
/// most urgent) with <c>default_priority_level</c>, and <c>default_queue_policy</c>.
/// </summary>
public sealed record BatchingSettings(
    int MaxBatchSize = 64,
    double MaxQueueDelayMs = 0,
    int QueueCapacity = 4096,
    string Admission = "buffer",
    int SampleWatermarkRows = 0,
    int SampleKeepEvery = 1,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<int>? PreferredBatchSize = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] int PriorityLevels = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] int DefaultPriorityLevel = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] QueuePolicy? DefaultQueuePolicy = null)
{
    public AdmissionSettings ToAdmission() =>
        AdmissionSettings.TryParsePolicy(Admission, out var policy)
            ? new AdmissionSettings(policy, SampleWatermarkRows, SampleKeepEvery)
            : throw new InvalidOperationException($"Unknown admission policy '{Admission}'.");

    /// <summary>The rows at which a batch held for <c>max_queue_delay_ms</c> runs without waiting longer: the largest preferred size, else the batch limit.</summary>
    [JsonIgnore]
    public int HoldUntilRows => PreferredBatchSize is { Count: > 0 } preferred ? preferred.Max() : MaxBatchSize;

    public IEnumerable<string> Validate()
    {
        if (MaxBatchSize < 1)
        {
            yield return "batching.max_batch_size must be at least 1";
        }

        if (QueueCapacity < 1)
        {
            yield return "batching.queue_capacity must be at least 1";
        }

        if (MaxQueueDelayMs < 0 || double.IsNaN(MaxQueueDelayMs))
        {
            yield return "batching.max_queue_delay_ms must not be negative";
        }

        if (!AdmissionSettings.TryParsePolicy(Admission, out _))
        {
            yield return $"batching.admission must be one of {string.Join(", ", AdmissionSettings.PolicyNames)}";
        }

        if (SampleKeepEvery < 1 || SampleWatermarkRows < 0)
        {
            yield return "batching.sample_keep_every must be at least 1 and batching.sample_watermark_rows not negative";
        }

        if (PreferredBatchSize is { } preferred && preferred.Any(p => p < 1 || p > MaxBatchSize))
        {
            yield return $"batching.preferred_batch_size must list sizes within 1..batching.max_batch_size ({MaxBatchSize})";
        }

        if (PriorityLevels is < 0 or > LatencyClasses.Count)
        {
            yield return $"batching.priority_levels must be within 0..{LatencyClasses.Count} (one per latency class; 0: all of them)";
        }

        if (DefaultPriorityLevel < 0 || DefaultPriorityLevel > (PriorityLevels == 0 ? LatencyClasses.Count : PriorityLevels))
        {
            yield return "batching.default_priority_level must be within 1..batching.priority_levels (0: the endpoint's default)";
        }

        if (DefaultQueuePolicy is { } policy)
        {
            if (policy.TimeoutAction is not ("reject" or "delay"))
            {
                yield return "batching.default_queue_policy.timeout_action must be reject or delay";
            }

            if (policy.DefaultTimeoutMicroseconds < 0)
            {
                yield return "batching.default_queue_policy.default_timeout_microseconds must not be negative";
            }
        }
    }
}

/// <summary>
/// Triton's queue policy: what becomes of a request whose timeout passes in the queue (<c>reject</c>:
/// answered 503 uncomputed; <c>delay</c>: still computed, after the work in time), the timeout a
/// request without one gets (microseconds; 0: its latency class's budget), and whether a request may set its own.
/// </summary>
public sealed record QueuePolicy(string TimeoutAction = "reject", long DefaultTimeoutMicroseconds = 0, bool AllowTimeoutOverride = true)
{
    [JsonIgnore]
    public bool DelaysExpired => TimeoutAction == "delay";
}

/// <summary>Which version folders are served (Triton's version_policy): the <c>latest</c> N, <c>all</c>, or <c>specific</c> ones. Default: the latest one.</summary>
public sealed record VersionPolicy(LatestVersions? Latest = null, AllVersions? All = null, SpecificVersions? Specific = null)
{
    /// <summary>The versions to serve of those found (ascending).</summary>
    public IReadOnlyList<int> Select(IReadOnlyList<int> found) =>
        All is not null ? found
        : Specific is { } specific ? [.. found.Where(specific.Versions.Contains)]
        : [.. found.TakeLast(Latest?.NumVersions ?? 1)];

    public IEnumerable<string> Validate()
    {
        if (new object?[] { Latest, All, Specific }.Count(p => p is not null) != 1)
        {
            yield return "version_policy must give exactly one of latest, all or specific";
        }

        if (Latest is { NumVersions: < 1 })
        {
            yield return "version_policy.latest.num_versions must be at least 1";
        }

        if (Specific is { } specific && (specific.Versions is not { Count: > 0 } || specific.Versions.Any(v => v < 1)))
        {
            yield return "version_policy.specific.versions must list version numbers of at least 1";
        }
    }
}

public sealed record LatestVersions(int NumVersions = 1);

public sealed record AllVersions;

public sealed record SpecificVersions(IReadOnlyList<int> Versions);

/// <summary>One warm-up run before the model takes traffic (Triton's model_warmup): <c>batch_size</c> rows of zeros or random values per input (zeros when the input is not named).</summary>
public sealed record WarmupSample(string Name = "warmup", int BatchSize = 1, IReadOnlyDictionary<string, WarmupInput>? Inputs = null);

public sealed record WarmupInput(bool ZeroData = false, bool RandomData = false);

public sealed record ThreadSettings(int IntraOp, int InterOp)
{
    /// <summary>One thread each: the batcher gives each model one lane already.</summary>
    public static ThreadSettings Default { get; } = new(1, 1);
}

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
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ModelManifestJsonContext : JsonSerializerContext;
