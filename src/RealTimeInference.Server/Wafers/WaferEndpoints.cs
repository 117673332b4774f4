using System.Buffers;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;
using Serilog;

namespace RealTimeInference.Server.Wafers;

/// <summary><c>POST /predict-wafer</c>, <c>WS /ws/webcam</c> and the inspection page.</summary>
internal static class WaferEndpoints
{
    private const string Endpoint = "/predict-wafer";
    private const string RawField = "image";
    private const int MaxPartHeaders = 16;
    private const int MaxPartHeaderBytes = 16 * 1024;

    public static IServiceCollection AddWafers(this IServiceCollection services)
    {
        services.AddOptions<WaferOptions>()
            .BindConfiguration(WaferOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.Model), "Wafer:Model is required.")
            .Validate(o => o.MaxImageBytes >= 1024 && o.MaxMultipartBytes >= o.MaxImageBytes, "Wafer:MaxImageBytes must be at least 1024 and Wafer:MaxMultipartBytes at least MaxImageBytes.")
            .Validate(o => o.MaxImagesPerRequest is >= 1 and <= 10_000, "Wafer:MaxImagesPerRequest must be within 1..10000.")
            .Validate(o => o.MaxImagePixels >= 64 * 64, "Wafer:MaxImagePixels must be at least 4096.")
            .Validate(o => o.MaxRequestPixels >= o.MaxImagePixels, "Wafer:MaxRequestPixels must be at least Wafer:MaxImagePixels.")
            .Validate(o => o.MaxConcurrentDecodes >= 1, "Wafer:MaxConcurrentDecodes must be at least 1.")
            .Validate(o => o.MaxFrameMessageBytes >= 1024, "Wafer:MaxFrameMessageBytes must be at least 1024.")
            .Validate(o => o.CameraFaultFrames >= 1, "Wafer:CameraFaultFrames must be at least 1.")
            .Validate(o => o.RetryAfterSeconds >= 1, "Wafer:RetryAfterSeconds must be at least 1.")
            .ValidateOnStart();
        services.AddSocketDefaults();
        services.AddSingleton<WaferMetrics>();
        services.AddSingleton<WaferPredictor>();
        services.AddSingleton<WebcamSocket>();
        services.AddHostedService<WaferWarmup>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, WaferJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapWaferEndpoints(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<WaferOptions>>().Value;
        var wafers = app.MapGroup("").WithTags("Wafer inspection")
            .WithClientRateLimit(app.ServiceProvider)
            .WithRole(app.ServiceProvider, Roles.Ingest);
        wafers.MapPost(Endpoint, PredictAsync)
            .WithName("PredictWafer")
            .WithSummary("Classify wafer images for defects")
            .WithDescription(
                "A raw image/png or image/jpeg body, or multipart/form-data with one or many image parts. Every image goes through " +
                "the wafer model's micro-batcher, so concurrent images share one ONNX run. Corrupt, truncated or empty images get 400 " +
                "naming each part; a body over Wafer:MaxImageBytes (raw) or Wafer:MaxMultipartBytes, more than Wafer:MaxImagesPerRequest " +
                "images, or an image header over Wafer:MaxImagePixels, gets 413 (the pixels are never decoded).")
            .Accepts<byte[]>("image/png", "image/jpeg", "multipart/form-data")
            .WithBodyLimit(options.MaxMultipartBytes)
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

    private static PredictionOrigin Origin(HttpContext context, long started) => new(PredictionSource.Http, context.TraceIdentifier, started);

    private static async Task<Results<Ok<WaferPredictionResponse>, Ok<WaferBatchResponse>, ProblemHttpResult>> PredictAsync(
        HttpContext context, [AsParameters] WaferServices services)
    {
        var started = services.Time.GetTimestamp();
        var options = services.Predictor.Options;
        var badHeader = RequestDeadline.Read(context.Request, LatencyClass.DefectDetection, started, services.Time, out var deadline);
        ProblemHttpResult Fail(WaferScoring scoring)
        {
            services.Metrics.RecordRequest(Endpoint, deadline.Class, scoring.Outcome, services.Time.GetElapsedTime(started));
            return scoring.Errors is { } errors
                ? Problems.Invalid(errors, "Invalid wafer image")
                : Problems.For(context, scoring.Outcome, scoring.Result.RetryAfter, options.RetryAfterSeconds, options.Model, scoring.Result.Error);
        }

        if (badHeader is not null)
        {
            return Fail(WaferScoring.Refused(badHeader));
        }

        if (context.Request.HasFormContentType)
        {
            var (images, files, error) = await ReadPartsAsync(context, options);
            if (error is not null)
            {
                return Fail(WaferScoring.Refused(error));
            }

            var scoring = await services.Predictor.ScoreAsync(images, [.. files.Select((_, i) => $"files[{i}]")], deadline, Origin(context, started), context.RequestAborted);
            if (!scoring.IsOk)
            {
                return Fail(scoring);
            }

            var latency = services.Succeed(Endpoint, deadline.Class, started, scoring);
            var defects = scoring.Verdicts.Select((v, i) => (v, i)).Where(p => p.v.DefectDetected).Select(p => p.i).ToArray();
            return TypedResults.Ok(new WaferBatchResponse(
                scoring.Verdicts, files, images.Length, defects, latency.TotalMilliseconds, scoring.Model!.Name, scoring.Model.Version, scoring.Timings));
        }

        if (context.Request.ContentLength > options.MaxImageBytes)
        {
            RequestBody.CloseAfterAnswer(context);
            return Fail(WaferScoring.Refused(RequestErrors.TooLarge(RawField, $"The image exceeds the {options.MaxImageBytes}-byte limit of raw {Endpoint} bodies.")));
        }

        byte[]? image = null;
        var length = 0;
        try
        {
            var unreadable = await RequestBody.ParseAsync(context, (in body) =>
            {
                if (body.Length > options.MaxImageBytes)
                {
                    return RequestErrors.TooLarge(RawField, $"The image exceeds the {options.MaxImageBytes}-byte limit of raw {Endpoint} bodies.");
                }

                length = (int)body.Length;
                image = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                body.CopyTo(image);
                return null;
            });
            if (unreadable is not null)
            {
                return Fail(WaferScoring.Refused(unreadable));
            }

            var scoring = await services.Predictor.ScoreAsync([image.AsMemory(0, length)], [RawField], deadline, Origin(context, started), context.RequestAborted);
            if (!scoring.IsOk)
            {
                return Fail(scoring);
            }

            var latency = services.Succeed(Endpoint, deadline.Class, started, scoring);
            var verdict = scoring.Verdicts[0];
            return TypedResults.Ok(new WaferPredictionResponse(
                verdict.DefectDetected, verdict.DefectType, verdict.Confidence, verdict.ClassProbabilities,
                latency.TotalMilliseconds, scoring.Model!.Name, scoring.Model.Version, scoring.Timings));
        }
        finally
        {
            if (image is not null)
            {
                ArrayPool<byte>.Shared.Return(image);
            }
        }
    }

    /// <summary>
    /// Every file part of a multipart body, read section by section, so each limit is recognised as
    /// itself: the image count as it is counted, the body size from Kestrel's typed 413.
    /// </summary>
    private static async Task<(ReadOnlyMemory<byte>[] Images, string[] Files, RequestErrors? Error)> ReadPartsAsync(HttpContext context, WaferOptions options)
    {
        var limit = RequestBody.Limit(context);
        if (context.Request.ContentLength > limit)
        {
            return ([], [], RequestBody.TooLarge(context, limit));
        }

        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var contentType)
            || HeaderUtilities.RemoveQuotes(contentType.Boundary).Value is not { Length: > 0 } boundary)
        {
            return ([], [], RequestErrors.One("Content-Type", "A multipart/form-data body needs a boundary parameter."));
        }

        var images = new List<ReadOnlyMemory<byte>>();
        var files = new List<string>();
        var read = 0L;
        // The reader's own header limits are loose bounds on memory; the real ones are counted here,
        // so each refusal names the limit it hit.
        var reader = new MultipartReader(boundary, context.Request.Body) { HeadersCountLimit = 1000, HeadersLengthLimit = 1024 * 1024 };
        try
        {
            while (await reader.ReadNextSectionAsync(context.RequestAborted) is { } section)
            {
                if (section.Headers?.Count > MaxPartHeaders || section.Headers?.Sum(h => h.Key.Length + h.Value.ToString().Length) > MaxPartHeaderBytes)
                {
                    return ([], [], RequestErrors.TooLarge(
                        $"files[{images.Count}]", $"A part carries at most {MaxPartHeaders} headers of {MaxPartHeaderBytes} bytes in all."));
                }

                if (section.GetContentDispositionHeader() is not { } disposition || !disposition.IsFileDisposition())
                {
                    continue;
                }

                if (images.Count == options.MaxImagesPerRequest)
                {
                    return ([], [], RequestErrors.TooLarge("files", $"More than {options.MaxImagesPerRequest} images; the limit is {options.MaxImagesPerRequest} a request."));
                }

                using var buffer = new MemoryStream();
                await section.Body.CopyToAsync(buffer, context.RequestAborted);
                read += buffer.Length;
                if (read > limit)
                {
                    // Hosts that do not enforce the endpoint's limit themselves.
                    return ([], [], RequestBody.TooLarge(context, limit));
                }

                images.Add(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
                files.Add(HeaderUtilities.RemoveQuotes(disposition.FileName).Value ?? "");
            }
        }
        catch (Exception ex) when (RequestBody.ReadFailure(context, ex, limit, "The multipart body is malformed") is { } error)
        {
            return ([], [], error);
        }

        return images.Count == 0
            ? ([], [], RequestErrors.One("files", "The multipart body has no file part; send one or more PNG/JPEG images."))
            : ([.. images], [.. files], null);
    }
}

/// <summary>What the wafer handler needs, and the bookkeeping of a scored request.</summary>
internal readonly record struct WaferServices(WaferPredictor Predictor, RequestMetrics Metrics, IDiagnosticContext RequestLog, TimeProvider Time)
{
    public TimeSpan Succeed(string endpoint, LatencyClass latencyClass, long started, WaferScoring scoring)
    {
        var latency = Time.GetElapsedTime(started);
        Metrics.RecordRequest(endpoint, latencyClass, scoring.Outcome, latency);
        // Onto the request's one summary log event: where its time went.
        RequestLog.Set("Model", scoring.Model!.Name);
        RequestLog.Set("Images", scoring.Verdicts.Count);
        RequestLog.Set("PreprocessMs", scoring.Preprocess.TotalMilliseconds);
        RequestLog.Set("QueueMs", scoring.Result.QueueTime.TotalMilliseconds);
        RequestLog.Set("ComputeMs", scoring.Result.ComputeTime.TotalMilliseconds);
        RequestLog.Set("BatchRequests", scoring.Result.BatchRequests);
        return latency;
    }
}
