using System.Globalization;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tensors;
using RealTimeInference.Server.Models;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;
using Serilog;

namespace RealTimeInference.Server.OpenInference;

/// <summary>
/// The Open Inference Protocol (V2) over REST, as KServe and Triton clients speak it: server and
/// model metadata, health, readiness and inference (JSON, or Triton's binary tensors), every error
/// the protocol's <c>{"error": "..."}</c>.
/// </summary>
internal static class OpenInferenceEndpoints
{
    /// <summary>Messages quote names ('Features'): kept as they are rather than \u0027, as the body is JSON, never HTML.</summary>
    private static readonly OpenInferenceJsonContext Errors = new(
        new JsonSerializerOptions(OpenInferenceJsonContext.Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>The metric label of every infer request, whatever the model: no label from the request.</summary>
    public const string InferEndpoint = "/v2/models/{name}/infer";

    /// <summary>
    /// The V2 REST and gRPC services; with OpenInference:GrpcPort, Kestrel also listens there for
    /// cleartext HTTP/2 (h2c), which gRPC clients need without TLS.
    /// </summary>
    public static WebApplicationBuilder AddOpenInference(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenInference();
        // One limit for a V2 request however it comes: a gRPC message past it is ResourceExhausted, as REST's body is 413.
        builder.Services.AddGrpc();
        builder.Services.AddOptions<GrpcServiceOptions>().Configure<IOptions<OpenInferenceOptions>>((grpc, oip) =>
            grpc.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, oip.Value.MaxRequestBytes));
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var options = context.Configuration.GetSection(OpenInferenceOptions.Section).Get<OpenInferenceOptions>() ?? new OpenInferenceOptions();
            if (options.GrpcPort is not { } grpcPort)
            {
                return;
            }

            // Endpoints set here replace the configured URLs, so those are bound here too.
            foreach (var url in (context.Configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var address = BindingAddress.Parse(url);
                if (address.Scheme != "http")
                {
                    throw new InvalidOperationException($"With OpenInference:GrpcPort set, the server's URLs must be http:// ones; '{url}' is not.");
                }

                Listen(kestrel, address.Host, address.Port, HttpProtocols.Http1AndHttp2);
            }

            foreach (var port in (context.Configuration["http_ports"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                kestrel.ListenAnyIP(int.Parse(port, CultureInfo.InvariantCulture));
            }

            Listen(kestrel, options.GrpcHost, grpcPort, HttpProtocols.Http2);
        });
        return builder;
    }

    private static void Listen(KestrelServerOptions kestrel, string host, int port, HttpProtocols protocols)
    {
        void Configure(ListenOptions listen) => listen.Protocols = protocols;
        if (host == "localhost")
        {
            kestrel.ListenLocalhost(port, Configure);
        }
        else if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, port, Configure);
        }
        else
        {
            // "*", "+" and host names bind every interface, as Kestrel binds them from URLs.
            kestrel.ListenAnyIP(port, Configure);
        }
    }

    public static IServiceCollection AddOpenInference(this IServiceCollection services)
    {
        services.AddOptions<OpenInferenceOptions>()
            .BindConfiguration(OpenInferenceOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.ServerName), "OpenInference:ServerName is required.")
            .Validate(o => o.MaxRequestBytes >= 256, "OpenInference:MaxRequestBytes must be at least 256.")
            .Validate(o => o.GrpcPort is null or (>= 1 and <= 65535), "OpenInference:GrpcPort must be within 1..65535.")
            .ValidateOnStart();
        services.AddSingleton<OpenInferenceService>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, OpenInferenceJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapOpenInferenceEndpoints(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<OpenInferenceOptions>>().Value;
        var v2 = app.MapGroup("/v2").WithTags("Open Inference Protocol (V2)");
        // Probes check nothing of the caller, as /health/* do.
        v2.MapGet("/health/live", () => TypedResults.Ok()).WithName("V2ServerLive").WithSummary("200 while the process runs");
        v2.MapGet("/health/ready", ServerReady).WithName("V2ServerReady").WithSummary("200 when the models are loaded and the server is not draining, else 503");

        var api = v2.MapGroup("").WithClientRateLimit(app.ServiceProvider);
        var read = api.MapGroup("").WithRole(app.ServiceProvider, Roles.Viewer);
        var infer = api.MapGroup("").WithRole(app.ServiceProvider, Roles.Ingest);
        read.MapGet("", (OpenInferenceService service) => TypedResults.Ok(service.ServerMetadata))
            .WithName("V2ServerMetadata").WithSummary("Server name, version and protocol extensions");
        foreach (var (prefix, suffix) in new[] { ("/models/{name}", ""), ("/models/{name}/versions/{version}", "Version") })
        {
            read.MapGet(prefix, ModelMetadataAsync).WithName("V2ModelMetadata" + suffix).WithSummary("The model's platform, versions and input and output tensors");
            read.MapGet(prefix + "/config", ModelConfigAsync).WithName("V2ModelConfig" + suffix)
                .WithSummary("The model's configuration (Triton's model-configuration extension), completed from its ONNX signature and model.json");
            read.MapGet(prefix + "/ready", ModelReadyAsync).WithName("V2ModelReady" + suffix).WithSummary("200 when the model answers; 404 unknown, 503 not now");
            infer.MapPost(prefix + "/infer", InferAsync)
                .WithName("V2ModelInfer" + suffix)
                .WithSummary("Infer with the model: JSON tensors, or Triton's binary tensor extension")
                .WithDescription("Every input the model's metadata declares, by name, datatype and shape (numbers of another numeric datatype are converted when each fits); outputs: all, or those named. Parameters: priority (1 most urgent .. 4 the latency classes), timeout (microseconds), binary_data_output. 400 bad tensor, 404 unknown model or version, 413 too many rows or bytes, 503 + Retry-After not computed.")
                .WithBodyLimit(options.MaxRequestBytes);
        }

        // Triton's repository extension: what the repository holds, and loading and unloading, as reload is protected.
        read.MapPost("/repository/index", (ModelRepository models) =>
                TypedResults.Ok<IReadOnlyList<V2RepositoryEntry>>([.. models.Index().Select(e => new V2RepositoryEntry(
                    e.Name, e.Version?.ToString(CultureInfo.InvariantCulture), e.State, e.Reason))]))
            .WithName("V2RepositoryIndex").WithSummary("Every model folder of the repository, loaded or not, with its state (READY, UNAVAILABLE) and why");
        var repository = api.MapGroup("/repository").WithRole(app.ServiceProvider, Roles.Engineer);
        repository.MapPost("/models/{name}/load", LoadAsync).WithName("V2RepositoryLoad")
            .WithSummary("Load (or load again) a model of the repository; with Inference:ModelControl=Explicit the only way models change while serving")
            .WithDescription("200 when it serves; 400 with the reason when its files do not load (what served keeps serving); 404 no such folder; 403 from elsewhere than this machine on an open server.");
        repository.MapPost("/models/{name}/unload", UnloadAsync).WithName("V2RepositoryUnload")
            .WithSummary("Stop serving a model: queued requests are answered, new ones are 404 until it is loaded again")
            .WithDescription("200 unloaded; 404 not loaded; 403 from elsewhere than this machine on an open server.");

        // As over REST: the probes are public and unlimited; inference is ingest's, the rest a viewer's.
        app.MapGrpcService<GrpcInferenceService>()
            .WithClientRateLimit(app.ServiceProvider, method => !IsGrpcProbe(method))
            .WithRoles(app.ServiceProvider, method => IsGrpcProbe(method) ? null : method == "ModelInfer" ? Roles.Ingest : Roles.Viewer);
        return app;
    }

    private static bool IsGrpcProbe(string method) => method is "ServerLive" or "ServerReady";

    private static Results<Ok, JsonHttpResult<V2Error>> ServerReady(HttpContext context, OpenInferenceService service, IOptions<PredictionOptions> predictions) =>
        service.IsReady ? TypedResults.Ok() : Error(context, Outcome.Unavailable, "The server is not ready: no model is loaded, or it is draining.", TimeSpan.Zero, predictions.Value);

    private static async Task<Results<Ok<V2ModelMetadata>, JsonHttpResult<V2Error>>> ModelMetadataAsync(string name, string? version, OpenInferenceService service) =>
        await service.FindAsync(name, version) is { } model
            ? TypedResults.Ok(OpenInferenceService.Metadata(model))
            : NotFound(name, version);

    private static async Task<Results<Ok<V2ModelConfig>, JsonHttpResult<V2Error>>> ModelConfigAsync(string name, string? version, OpenInferenceService service) =>
        await service.FindAsync(name, version) is { } model
            ? TypedResults.Ok(service.Config(model))
            : NotFound(name, version);

    private static async Task<Results<Ok, JsonHttpResult<V2Error>>> ModelReadyAsync(
        HttpContext context, string name, string? version, OpenInferenceService service, IOptions<PredictionOptions> predictions) =>
        await service.FindAsync(name, version) is not { } model ? NotFound(name, version)
        : service.IsModelReady(model) ? TypedResults.Ok()
        : Error(context, Outcome.Unavailable, $"Model '{name}' is not ready: the server is draining.", TimeSpan.Zero, predictions.Value);

    private static async Task<Results<Ok, JsonHttpResult<V2Error>>> LoadAsync(
        HttpContext context, string name, ModelRepository repository, IOptions<InferenceOptions> inference, IOptions<SecurityOptions> security)
    {
        if (RefuseRepositoryChange(context, inference.Value, security.Value) is { } refused)
        {
            return refused;
        }

        var load = await repository.LoadAsync(name);
        return load.Succeeded ? TypedResults.Ok()
            : repository.Index().Any(e => e.Name == name) ? RepositoryError(load.Error ?? $"Model '{name}' did not load.", StatusCodes.Status400BadRequest)
            : RepositoryError($"The repository has no model '{name}'.", StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok, JsonHttpResult<V2Error>>> UnloadAsync(
        HttpContext context, string name, ModelRepository repository, IOptions<InferenceOptions> inference, IOptions<SecurityOptions> security) =>
        RefuseRepositoryChange(context, inference.Value, security.Value) is { } refused ? refused
        : await repository.UnloadAsync(name) ? TypedResults.Ok()
        : RepositoryError($"Model '{name}' is not loaded.", StatusCodes.Status404NotFound);

    /// <summary>As Triton: load and unload only under explicit model control; and, as reload, only with a key or from this machine.</summary>
    private static JsonHttpResult<V2Error>? RefuseRepositoryChange(HttpContext context, InferenceOptions inference, SecurityOptions security) =>
        inference.ModelControl != ModelControl.Explicit
            ? RepositoryError("Models are loaded and unloaded through the repository API only with Inference:ModelControl=Explicit; under Poll the repository's files decide.", StatusCodes.Status400BadRequest)
        : !ModelEndpoints.MayChangeModels(context, security)
            ? RepositoryError("On an open server (no Security:ApiKeys or Security:Jwt), models load and unload only from the server's own machine; configure roles to do it from elsewhere.", StatusCodes.Status403Forbidden)
        : null;

    private static JsonHttpResult<V2Error> RepositoryError(string message, int status) =>
        TypedResults.Json(new V2Error(message), Errors.V2Error, statusCode: status);

    private static async Task<Results<Ok<V2InferResponse>, V2BinaryResult, JsonHttpResult<V2Error>>> InferAsync(
        HttpContext context, string name, string? version, [AsParameters] OpenInferenceServices services)
    {
        var started = services.Time.GetTimestamp();
        var model = await services.Service.FindAsync(name, version);
        var defaultClass = model is null ? LatencyClass.ProcessControl : services.Service.DefaultClass(model);
        var invalidHeader = RequestDeadline.Read(context.Request, defaultClass, started, services.Time, out var deadline);
        if (model is null)
        {
            services.Metrics.RecordRequest(InferEndpoint, deadline.Class, Outcome.Invalid, services.Time.GetElapsedTime(started));
            return NotFound(name, version);
        }

        services.RequestLog.Set("Model", model.Name);
        long? headerLength = null;
        var lengthHeader = context.Request.Headers[V2RestRequest.HeaderLengthHeader];
        if (lengthHeader.Count > 0)
        {
            if (lengthHeader.Count > 1 || !long.TryParse(lengthHeader[0], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                return services.Refuse(context, started, deadline, Outcome.Invalid, $"{V2RestRequest.HeaderLengthHeader} must be a whole number of bytes.");
            }

            headerLength = length;
        }

        if (invalidHeader is not null)
        {
            return services.Refuse(context, started, deadline, invalidHeader.Outcome, invalidHeader.Detail);
        }

        V2Request? request = null;
        string? bad = null;
        if (await RequestBody.ParseAsync(context, (in body) =>
            {
                bad = V2RestRequest.Parse(body, headerLength, out request);
                return null;
            }) is { } unreadable)
        {
            return services.Refuse(context, started, deadline, unreadable.Outcome, unreadable.Detail);
        }

        if (request is null)
        {
            return services.Refuse(context, started, deadline, Outcome.Invalid, bad ?? "The request could not be read.");
        }

        if (services.Service.Schedule(model, request, started, ref deadline) is { } badSchedule)
        {
            return services.Refuse(context, started, deadline, Outcome.Invalid, badSchedule);
        }

        var origin = new PredictionOrigin(PredictionSource.Http, context.TraceIdentifier, started);
        var result = await services.Service.InferAsync(model, request, deadline, origin, context.RequestAborted);
        services.RequestLog.Set("LatencyClass", deadline.Class.Name());
        if (!result.IsOk)
        {
            return services.Refuse(context, started, deadline, result.Outcome, result.Error ?? result.Outcome.Detail(model.Name), result.RetryAfter);
        }

        services.Metrics.RecordRequest(InferEndpoint, deadline.Class, Outcome.Ok, services.Time.GetElapsedTime(started));
        var parameters = result.AnsweredBy is { } answeredBy ? new V2ResponseParameters(answeredBy, Fallback: true) : null;
        var version2 = OpenInferenceService.Version(model);
        if (result.Outputs.Any(o => o.Binary))
        {
            return V2BinaryResult.For(new V2InferResponse(model.Name, version2, request.Id, parameters, []), result.Outputs);
        }

        return TypedResults.Ok(new V2InferResponse(
            model.Name, version2, request.Id, parameters, [.. result.Outputs.Select(o => new V2OutputTensor(o.Name, o.Type.Name(), o.Shape, null, V2Tensors.ToJsonData(o.Values)))]));
    }

    private static JsonHttpResult<V2Error> NotFound(string name, string? version) =>
        TypedResults.Json(new V2Error(OpenInferenceService.NotFound(name, version)), Errors.V2Error, statusCode: StatusCodes.Status404NotFound);

    /// <summary>The outcome's status from the one vocabulary, Retry-After on every 503 and 429, the protocol's error body.</summary>
    public static JsonHttpResult<V2Error> Error(HttpContext context, Outcome outcome, string message, TimeSpan predictedWait, PredictionOptions predictions)
    {
        if (outcome.IsRetryable())
        {
            context.Response.Headers.RetryAfter =
                OutcomeVocabulary.RetryAfterSeconds(predictedWait, predictions.RetryAfterSeconds).ToString(CultureInfo.InvariantCulture);
        }

        return TypedResults.Json(new V2Error(message), Errors.V2Error, statusCode: outcome.Describe().HttpStatus);
    }
}

/// <summary>What the infer handler needs.</summary>
internal readonly record struct OpenInferenceServices(
    OpenInferenceService Service,
    RequestMetrics Metrics,
    IOptions<PredictionOptions> Predictions,
    IDiagnosticContext RequestLog,
    TimeProvider Time)
{
    public JsonHttpResult<V2Error> Refuse(HttpContext context, long started, Deadline deadline, Outcome outcome, string message, TimeSpan predictedWait = default)
    {
        Metrics.RecordRequest(OpenInferenceEndpoints.InferEndpoint, deadline.Class, outcome, Time.GetElapsedTime(started));
        return OpenInferenceEndpoints.Error(context, outcome, message, predictedWait, Predictions.Value);
    }
}

/// <summary>
/// An inference response with Triton's binary tensors: the JSON (its length in
/// <c>Inference-Header-Content-Length</c>), then each binary output's data, little-endian, in order.
/// </summary>
internal sealed class V2BinaryResult(byte[] header, IReadOnlyList<byte[]> binary) : IResult
{
    public static V2BinaryResult For(V2InferResponse response, IReadOnlyList<V2Output> outputs)
    {
        var data = outputs.Select(o => o.Binary ? V2Tensors.ToBinary(o.Values) : null).ToArray();
        var tensors = outputs.Select((o, i) => new V2OutputTensor(
            o.Name, o.Type.Name(), o.Shape, data[i] is { } bytes ? new V2OutputParameters(bytes.Length) : null, o.Binary ? null : V2Tensors.ToJsonData(o.Values)));
        var header = JsonSerializer.SerializeToUtf8Bytes(response with { Outputs = [.. tensors] }, OpenInferenceJsonContext.Default.V2InferResponse);
        return new V2BinaryResult(header, [.. data.OfType<byte[]>()]);
    }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        var dataBytes = binary.Sum(o => (long)o.Length);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/octet-stream";
        response.Headers[V2RestRequest.HeaderLengthHeader] = header.Length.ToString(CultureInfo.InvariantCulture);
        response.ContentLength = header.Length + dataBytes;
        await response.Body.WriteAsync(header, httpContext.RequestAborted);
        foreach (var output in binary)
        {
            await response.Body.WriteAsync(output, httpContext.RequestAborted);
        }
    }
}
