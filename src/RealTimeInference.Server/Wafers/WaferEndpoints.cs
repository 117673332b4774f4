using System.Buffers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Observability;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Security;
using Serilog;

namespace RealTimeInference.Server.Wafers;

internal static class WaferEndpoints
{
    private const string Endpoint = "/predict-wafer";
    private const string RawField = "image";

    public static IServiceCollection AddWafers(this IServiceCollection services)
    {
        services.AddOptions<WaferOptions>()
            .BindConfiguration(WaferOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.Model), "Wafer:Model is required.")
            .Validate(o => o.MaxImageBytes >= 1024 && o.MaxMultipartBytes >= o.MaxImageBytes, "Wafer:MaxImageBytes must be at least 1024 and Wafer:MaxMultipartBytes at least MaxImageBytes.")
            .Validate(o => o.MaxImagesPerRequest is >= 1 and <= 10_000, "Wafer:MaxImagesPerRequest must be within 1..10000.")
            .Validate(o => o.MaxImagePixels >= 64 * 64, "Wafer:MaxImagePixels must be at least 4096.")
            .Validate(o => o.MaxFrameMessageBytes >= 1024, "Wafer:MaxFrameMessageBytes must be at least 1024.")
            .Validate(o => o.RetryAfterSeconds >= 1, "Wafer:RetryAfterSeconds must be at least 1.")
            .ValidateOnStart();
        services.AddSingleton<WaferPredictor>();
        services.AddSingleton<WebcamSocket>();
        services.AddHostedService<WaferWarmup>();
        return services;
    }

    public static IEndpointRouteBuilder MapWaferEndpoints(this IEndpointRouteBuilder app)
    {
        var wafers = app.MapGroup("").WithTags("Wafer inspection")
            .WithClientRateLimit(app.ServiceProvider)
            .WithApiKey(app.ServiceProvider);
        wafers.MapPost(Endpoint, PredictAsync)
            .WithName("PredictWafer")
            .WithSummary("Classify wafer images for defects")
            .WithDescription(
                "A raw image/png or image/jpeg body, or multipart/form-data with one or many image parts. Every image goes through " +
                "the wafer model's micro-batcher, so concurrent images share one ONNX run. Corrupt, truncated or empty images get 400 " +
                "naming the part; a body over Wafer:MaxImageBytes (raw) or Wafer:MaxMultipartBytes, or an image header over " +
                "Wafer:MaxImagePixels, gets 413 (the pixels are never decoded).")
            .Accepts<byte[]>("image/png", "image/jpeg", "multipart/form-data")
            .WithErrorResponses();
        wafers.Map("/ws/webcam", (HttpContext context, WebcamSocket socket) => socket.RunAsync(context))
            .WithName("WebcamSocket")
            .WithSummary("WebSocket: {frame: base64 PNG/JPEG} in, {defect_detected, confidence, timestamp, ...} out per frame")
            .ExcludeFromDescription();
        app.MapGet("/inspect", (IWebHostEnvironment environment) => InspectPage(environment))
            .WithTags("Wafer inspection")
            .WithName("InspectPage")
            .WithSummary("The inspection page: camera capture or dropped wafer images, verdicts and rolling latency")
            .ExcludeFromDescription();
        return app;
    }

    private static Results<PhysicalFileHttpResult, NotFound> InspectPage(IWebHostEnvironment environment)
    {
        var page = environment.WebRootFileProvider.GetFileInfo("inspect.html");
        return page is { Exists: true, PhysicalPath: { } path }
            ? TypedResults.PhysicalFile(path, "text/html; charset=utf-8")
            : TypedResults.NotFound();
    }

    private static async Task<Results<Ok<WaferPredictionResponse>, Ok<WaferBatchResponse>, ProblemHttpResult>> PredictAsync(
        HttpContext context, WaferPredictor predictor, RequestMonitor monitor, ServerMetrics metrics, IDiagnosticContext requestLog, TimeProvider time)
    {
        var started = time.GetTimestamp();
        var options = predictor.Options;
        var badDeadline = RequestDeadline.Read(context.Request, LatencyClass.DefectDetection, started, time, out var deadline);
        var latencyClass = badDeadline is null ? deadline.Class : LatencyClass.DefectDetection;
        ProblemHttpResult Fail(FieldError error)
        {
            var latency = time.GetElapsedTime(started);
            var outcome = WaferProblems.Outcome(error);
            monitor.Record(latency, success: error.Status is < 500 or 499);
            metrics.RecordPrediction(Endpoint, latencyClass, outcome, latency);
            return WaferProblems.Problem(context, error, options.RetryAfterSeconds);
        }

        if (badDeadline is { } invalid)
        {
            return Fail(invalid);
        }

        if (context.Request.HasFormContentType)
        {
            var (images, files, error) = await ReadPartsAsync(context, options);
            if (error is { } bad)
            {
                return Fail(bad);
            }

            var fields = files.Select((_, i) => $"files[{i}]").ToArray();
            var scoring = await predictor.ScoreAsync(images, fields, deadline, context.RequestAborted);
            if (WaferProblems.Of(scoring, options.Model) is { } failed)
            {
                return Fail(failed);
            }

            var latency = Succeed(scoring);
            var defects = scoring.Verdicts.Select((v, i) => (v, i)).Where(p => p.v.DefectDetected).Select(p => p.i).ToArray();
            return TypedResults.Ok(new WaferBatchResponse(
                scoring.Verdicts, files, images.Length, defects, latency.TotalMilliseconds, scoring.Model!.Name, scoring.Model.Version, scoring.Timings));
        }

        byte[]? rented = null;
        var length = 0;
        var tooLarge = await RequestBody.ParseAsync(context, options.MaxImageBytes, (in body) =>
        {
            length = (int)body.Length;
            rented = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            body.CopyTo(rented);
            return null;
        });
        try
        {
            if (tooLarge is { } bad)
            {
                return Fail(bad with { Field = RawField });
            }

            var scoring = await predictor.ScoreAsync([rented.AsMemory(0, length)], [RawField], deadline, context.RequestAborted);
            if (WaferProblems.Of(scoring, options.Model) is { } failed)
            {
                return Fail(failed);
            }

            var latency = Succeed(scoring);
            var verdict = scoring.Verdicts[0];
            return TypedResults.Ok(new WaferPredictionResponse(
                verdict.DefectDetected, verdict.DefectType, verdict.Confidence, verdict.ClassProbabilities,
                latency.TotalMilliseconds, scoring.Model!.Name, scoring.Model.Version, scoring.Timings));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        TimeSpan Succeed(WaferScoring scoring)
        {
            var latency = time.GetElapsedTime(started);
            monitor.Record(latency, success: true);
            metrics.RecordPrediction(Endpoint, latencyClass, "ok", latency);
            // Onto the request's one summary log event: where its time went.
            requestLog.Set("Model", scoring.Model!.Name);
            requestLog.Set("Images", scoring.Verdicts.Count);
            requestLog.Set("PreprocessMs", scoring.Preprocess.TotalMilliseconds);
            requestLog.Set("QueueMs", scoring.Result.QueueTime.TotalMilliseconds);
            requestLog.Set("ComputeMs", scoring.Result.ComputeTime.TotalMilliseconds);
            requestLog.Set("BatchRequests", scoring.Result.BatchRequests);
            return latency;
        }
    }

    /// <summary>Every file part of a multipart body, under the multipart byte limit and the image count limit.</summary>
    private static async Task<(ReadOnlyMemory<byte>[] Images, string[] Files, FieldError? Error)> ReadPartsAsync(HttpContext context, WaferOptions options)
    {
        var limit = options.MaxMultipartBytes;
        var tooLarge = new FieldError("$", $"The request body exceeds the {limit}-byte limit of {Endpoint}.", StatusCodes.Status413PayloadTooLarge);
        if (context.Request.ContentLength > limit)
        {
            return ([], [], tooLarge);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(
                new FormOptions { MultipartBodyLengthLimit = limit, ValueCountLimit = options.MaxImagesPerRequest + 16 }, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ([], [], tooLarge);
        }
        catch (InvalidDataException ex) when (ex.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            return ([], [], tooLarge with { Message = $"{tooLarge.Message} ({ex.Message})" });
        }
        catch (InvalidDataException ex)
        {
            return ([], [], new FieldError("$", $"The multipart body is malformed: {ex.Message}"));
        }
        catch (IOException ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            // A multipart body that ends before its closing boundary.
            return ([], [], new FieldError("$", $"The multipart body is malformed: {ex.Message}"));
        }

        if (form.Files.Count == 0)
        {
            return ([], [], new FieldError("files", "The multipart body has no file part; send one or more PNG/JPEG images."));
        }

        if (form.Files.Count > options.MaxImagesPerRequest)
        {
            return ([], [], new FieldError(
                "files", $"{form.Files.Count} images exceed the limit of {options.MaxImagesPerRequest} a request.", StatusCodes.Status413PayloadTooLarge));
        }

        var images = new ReadOnlyMemory<byte>[form.Files.Count];
        var files = new string[form.Files.Count];
        for (var i = 0; i < images.Length; i++)
        {
            var file = form.Files[i];
            using var stream = new MemoryStream((int)file.Length);
            await file.CopyToAsync(stream, context.RequestAborted);
            images[i] = stream.GetBuffer().AsMemory(0, (int)stream.Length);
            files[i] = file.FileName;
        }

        return (images, files, null);
    }
}
