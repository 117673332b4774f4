using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Transport;

using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Wafers;

/// <summary>What became of a set of images: verdicts in order, or why there are none (bad images, or the model's outcome).</summary>
internal sealed record WaferScoring(
    ServedModel? Model,
    ScoreResult Result,
    IReadOnlyList<WaferVerdict> Verdicts,
    TimeSpan Preprocess,
    RequestErrors? Errors = null)
{
    public bool IsOk => Errors is null && Result.IsOk;

    /// <summary>A request refused before any image was scored.</summary>
    public static WaferScoring Refused(RequestErrors errors) => new(null, default, [], TimeSpan.Zero, errors);

    /// <summary>The request's outcome: invalid or too large images, else the model's.</summary>
    public Outcome Outcome => Errors?.Outcome ?? Result.Outcome;

    public WaferTimings Timings => new(
        Preprocess.TotalMilliseconds, Result.QueueTime.TotalMilliseconds, Result.ComputeTime.TotalMilliseconds, Result.BatchRows);
}

/// <summary>
/// Images -> the wafer model's tensors (its model.json preprocessing) -> its micro-batcher, so
/// concurrent images from every client share one ONNX run -> a verdict per image. Knows nothing
/// of any transport: HTTP and the webcam socket both call it.
/// </summary>
internal sealed class WaferPredictor(
    ModelRepository repository,
    ModelGuard guard,
    ResultsQueue results,
    IOptions<ResultsOptions> resultsOptions,
    IOptions<WaferOptions> options,
    WaferMetrics metrics,
    TimeProvider time)
{
    private readonly bool _recording = resultsOptions.Value.Store != ResultsStoreKind.None;

    public const string NoneClass = "none";

    private readonly WaferOptions _options = options.Value;
    private readonly SemaphoreSlim _decoders = new(options.Value.MaxConcurrentDecodes);
    private volatile Preprocessors? _preprocessors;

    public WaferOptions Options => _options;

    /// <summary>
    /// Loads SkiaSharp's native library and builds the served model's preprocessor by decoding one
    /// small rendered wafer, so the first inspection image does not pay for it (about 20 ms).
    /// </summary>
    public void WarmUp()
    {
        if (repository.TryGet(_options.Model, out var model) && Preprocessor(model) is { } preprocessor)
        {
            var image = WaferMapRenderer.Render(new WaferMapGenerator(0).Next(WaferPattern.None), 16);
            preprocessor.Preprocess(image, new float[preprocessor.TensorLength], _options.MaxImagePixels);
        }
    }

    /// <summary>
    /// Scores <paramref name="images"/> (encoded PNG/JPEG) as one request by <paramref name="deadline"/>;
    /// <paramref name="fields"/> name each image in errors.
    /// </summary>
    public async ValueTask<WaferScoring> ScoreAsync(
        IReadOnlyList<ReadOnlyMemory<byte>> images, IReadOnlyList<string> fields, Deadline deadline, PredictionOrigin origin, CancellationToken cancellationToken)
    {
        if (repository.IsDraining || !repository.TryGet(_options.Model, out var model))
        {
            return new WaferScoring(null, new ScoreResult(Outcome.Unavailable), [], TimeSpan.Zero);
        }

        if (Preprocessor(model) is not { } preprocessor)
        {
            return new WaferScoring(model, new ScoreResult(
                Outcome.Failed,
                Error: $"Model '{model.Name}' is not an image classifier: its model.json needs preprocessing and classes including '{NoneClass}'."), [], TimeSpan.Zero);
        }

        // Headers first: the request's images are refused, each naming its fault, or over the
        // request's pixel budget, before a single pixel is decoded.
        if (Measure(images, fields) is { } refused)
        {
            return new WaferScoring(model, default, [], TimeSpan.Zero, refused);
        }

        var (width, outputs) = (preprocessor.TensorLength, model.OutputCount);
        var features = ArrayPool<float>.Shared.Rent(images.Count * width);
        var scores = ArrayPool<float>.Shared.Rent(images.Count * outputs);
        var decoding = false;
        try
        {
            var started = time.GetTimestamp();
            // Only so many requests decode at once, so decoding cannot take every core from /predict.
            decoding = await _decoders.WaitAsync(Remaining(deadline), cancellationToken);
            for (var i = 0; i < images.Count; i++)
            {
                // A client that left, or a deadline that passed, stops the decoding.
                if (!decoding || time.GetTimestamp() >= deadline.Due)
                {
                    return new WaferScoring(model, new ScoreResult(Outcome.DeadlineExpired), [], time.GetElapsedTime(started));
                }

                cancellationToken.ThrowIfCancellationRequested();
                var image = preprocessor.Preprocess(images[i].Span, features.AsSpan(i * width, width), _options.MaxImagePixels);
                if (image.Status == ImageStatus.NotAWafer)
                {
                    // A covered, dark or misaimed camera: the model would call it clean with confidence.
                    metrics.Refused(image.Reason!);
                    return new WaferScoring(model, default, [], time.GetElapsedTime(started), RequestErrors.NotAWafer(fields[i], image.Message!, image.Reason!));
                }

                if (!image.IsOk)
                {
                    // Measured as good, decoded as bad: a truncated body behind a whole header.
                    return new WaferScoring(model, default, [], time.GetElapsedTime(started), RequestErrors.One(fields[i], image.Message!));
                }
            }

            _decoders.Release();
            decoding = false;
            var preprocess = time.GetElapsedTime(started);
            var rows = features.AsMemory(0, images.Count * width);
            var output = scores.AsMemory(0, images.Count * outputs);
            // The guard retries on a version swapped in meanwhile, and falls back if the model fails.
            var answer = await guard.ScoreAsync(model, rows, output, deadline, cancellationToken);
            var answered = answer.Model ?? model;
            var verdicts = answer.Result.IsOk ? Verdicts(answered, output.Span, images.Count) : [];
            Record(origin, deadline.Class, answered, images, verdicts);
            return new WaferScoring(answered, answer.Result, verdicts, preprocess);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new WaferScoring(model, new ScoreResult(Outcome.Cancelled), [], TimeSpan.Zero);
        }
        finally
        {
            if (decoding)
            {
                _decoders.Release();
            }

            ArrayPool<float>.Shared.Return(features);
            ArrayPool<float>.Shared.Return(scores);
        }
    }

    /// <summary>
    /// Scores tensors already preprocessed (the model's input rows, as an Open Inference client sends
    /// them) through the same guard and micro-batcher as images; <paramref name="scores"/> gets one
    /// probability per class a row. Not stored: the results store keeps images' digests, and there is no image.
    /// </summary>
    /// <param name="features">Row-major, the preprocessed tensor's length a row.</param>
    /// <param name="scores">Room for the model's outputs, row-major.</param>
    /// <param name="deadline">When the answer stops being useful.</param>
    /// <param name="cancellationToken">The caller went away.</param>
    public async ValueTask<(ScoreResult Result, ServedModel? Model)> ScoreTensorsAsync(
        Memory<float> features, Memory<float> scores, Deadline deadline, CancellationToken cancellationToken)
    {
        if (repository.IsDraining || !repository.TryGet(_options.Model, out var model))
        {
            return (new ScoreResult(Outcome.Unavailable), null);
        }

        var answer = await guard.ScoreAsync(model, features, scores, deadline, cancellationToken, safeDefault: false).ConfigureAwait(false);
        return (answer.Result, answer.Model ?? model);
    }

    /// <summary>Every image's header: each bad one named (up to the error limit), or the request's pixels over its budget; null when all may be decoded.</summary>
    private RequestErrors? Measure(IReadOnlyList<ReadOnlyMemory<byte>> images, IReadOnlyList<string> fields)
    {
        RequestErrors? errors = null;
        var pixels = 0L;
        for (var i = 0; i < images.Count && errors is not { IsFull: true }; i++)
        {
            var header = ImagePreprocessor.Measure(images[i].Span, _options.MaxImagePixels);
            if (header.Status == ImageStatus.TooLarge)
            {
                (errors ??= new()).AddTooLarge(fields[i], header.Message!);
            }
            else if (!header.IsOk)
            {
                RequestErrors.Add(ref errors, fields[i], header.Message!);
            }

            pixels += (long)header.Width * header.Height;
        }

        return errors ?? (pixels > _options.MaxRequestPixels
            ? RequestErrors.TooLarge("$", $"The images declare {pixels} pixels in all; one request may decode at most {_options.MaxRequestPixels} (Wafer:MaxRequestPixels).")
            : null);
    }

    private TimeSpan Remaining(Deadline deadline) =>
        TimeSpan.FromSeconds(Math.Max(0, deadline.Due - time.GetTimestamp()) / (double)time.TimestampFrequency);

    /// <summary>Hands each verdict, with its image's SHA-256 (not the image), to the results store's queue: never waits; a full queue counts the drop.</summary>
    private void Record(PredictionOrigin origin, LatencyClass latencyClass, ServedModel model, IReadOnlyList<ReadOnlyMemory<byte>> images, WaferVerdict[] verdicts)
    {
        if (!_recording || verdicts.Length == 0 || results.RentWafers(verdicts.Length) is not { } chunk)
        {
            return;
        }

        var now = time.GetUtcNow();
        var latencyMs = time.GetElapsedTime(origin.Started).TotalMilliseconds;
        var source = origin.Source.Name();
        for (var i = 0; i < verdicts.Length; i++)
        {
            var verdict = verdicts[i];
            var probabilities = "{" + string.Join(",", verdict.ClassProbabilities.Select(p => string.Create(CultureInfo.InvariantCulture, $"\"{p.Key}\":{p.Value:R}"))) + "}";
            chunk.Wafers![i] = new WaferRecord(
                now, source, model.Name, model.Version, verdict.DefectType, verdict.DefectDetected, verdict.Confidence, probabilities,
                Convert.ToHexStringLower(SHA256.HashData(images[i].Span)), latencyMs, latencyClass, origin.RequestId);
        }

        results.Enqueue(chunk);
    }

    private static WaferVerdict[] Verdicts(ServedModel model, ReadOnlySpan<float> scores, int count)
    {
        var classes = model.Manifest.Classes!;
        var none = IndexOf(classes, NoneClass);
        var verdicts = new WaferVerdict[count];
        for (var i = 0; i < count; i++)
        {
            var row = scores.Slice(i * classes.Count, classes.Count);
            var probabilities = new Dictionary<string, float>(classes.Count, StringComparer.Ordinal);
            var likeliestDefect = -1;
            for (var c = 0; c < classes.Count; c++)
            {
                probabilities[classes[c]] = row[c];
                if (c != none && (likeliestDefect < 0 || row[c] > row[likeliestDefect]))
                {
                    likeliestDefect = c;
                }
            }

            var defectProbability = 1 - row[none];
            var defect = defectProbability >= model.Manifest.Threshold;
            verdicts[i] = new WaferVerdict(
                defect,
                defect ? classes[likeliestDefect] : NoneClass,
                defect ? defectProbability : row[none],
                probabilities);
        }

        return verdicts;
    }

    /// <summary>The served model's preprocessor, built once per model version; null when the model takes no images.</summary>
    private ImagePreprocessor? Preprocessor(ServedModel model)
    {
        if (_preprocessors is { } cached && ReferenceEquals(cached.Model, model))
        {
            return cached.Preprocessor;
        }

        var manifest = model.Manifest;
        var usable = manifest.Preprocessing is not null && manifest.Classes is { } classes && IndexOf(classes, NoneClass) >= 0
            && manifest.Preprocessing.TensorLength == model.FeatureCount;
        var built = new Preprocessors(model, usable ? new ImagePreprocessor(manifest.Preprocessing!) : null);
        _preprocessors = built;
        return built.Preprocessor;
    }

    private static int IndexOf(IReadOnlyList<string> classes, string name)
    {
        for (var i = 0; i < classes.Count; i++)
        {
            if (classes[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    private sealed record Preprocessors(ServedModel Model, ImagePreprocessor? Preprocessor);
}
