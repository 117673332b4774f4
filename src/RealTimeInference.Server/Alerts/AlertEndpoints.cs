using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using RealTimeInference.Results;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Streaming;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Alerts;

/// <summary><c>GET /alerts</c>, <c>GET /alerts/{id}</c>, <c>POST /alerts/{id}/ack</c> and <c>/shelve</c>, and each tool's state, over the alert rules' book.</summary>
internal static class AlertEndpoints
{
    public const int MaxTextLength = 1000;

    /// <summary>The alert rules fed by every sensor prediction (kept in the results store when there is one).</summary>
    public static IServiceCollection AddAlertRules(this IServiceCollection services)
    {
        services.AddAlerts();
        services.AddSingleton<IPredictionSink, AlertSink>();
        services.AddOptions<SpcOptions>()
            .BindConfiguration(SpcOptions.Section)
            .Validate(o => o.BaselinePoints >= 2 && o.MaxCharts >= 1, "Spc:BaselinePoints must be at least 2 and Spc:MaxCharts at least 1.")
            .Validate(o => o.Monitors.All(m => !string.IsNullOrWhiteSpace(m.Value)), "Spc:Monitors: each needs a Value (score, or a sensor's name).")
            .Validate(
                o => o.Monitors.All(m => (m.Mean is null) == (m.Sigma is null) && m.Sigma is null or > 0),
                "Spc:Monitors: give Mean and Sigma together (Sigma above 0), or neither to take them from the baseline.")
            .ValidateOnStart();
        services.AddSingleton<IPredictionSink, SpcSink>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, AlertJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapAlertEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/alerts").WithTags("Alerts").WithRole(app.ServiceProvider, Roles.Viewer);
        group.MapGet("", List)
            .WithName("GetAlerts")
            .WithSummary("Alerts: open ones newest first, then the recently resolved")
            .WithDescription("Filter with state (firing, acknowledged, resolved) and tool_id.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id:long}", Get)
            .WithName("GetAlert")
            .WithSummary("One alert with its timeline")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGroup("").WithRole(app.ServiceProvider, Roles.Operator).MapPost("/{id:long}/ack", AcknowledgeAsync)
            .WithName("AcknowledgeAlert")
            .WithSummary("Acknowledges a firing alert: {\"by\": \"...\", \"note\": \"...\"}; with roles configured, by is the authenticated caller")
            .Accepts<AckRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGroup("").WithRole(app.ServiceProvider, Roles.Operator).MapPost("/{id:long}/shelve", ShelveAsync)
            .WithName("ShelveAlert")
            .WithSummary("Shelves an open alert's group: {\"minutes\": 60, \"by\": \"...\", \"reason\": \"...\"}; no new alert or joining sensor notifies until it expires by itself")
            .Accepts<ShelveRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        var tools = app.MapGroup("/tools/{toolId}/state").WithTags("Alerts");
        tools.WithRole(app.ServiceProvider, Roles.Viewer).MapGet("", (string toolId, AlertBook book) => TypedResults.Ok(ToolStateItem.From(book.ToolStateOf(toolId))))
            .WithName("GetToolState")
            .WithSummary("A tool's state: productive (the default), maintenance or engineering");
        tools.MapGroup("").WithRole(app.ServiceProvider, Roles.Operator).MapPut("", SetToolStateAsync)
            .WithName("SetToolState")
            .WithSummary("Sets a tool's state: {\"state\": \"maintenance\", \"by\": \"...\", \"note\": \"...\"}; while not productive the tool opens no alert (counted)")
            .Accepts<ToolStateRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        app.MapGroup("").WithTags("Alerts").WithRole(app.ServiceProvider, Roles.Viewer)
            .MapGet("/stream-alerts", StreamAlerts)
            .WithName("StreamAlerts")
            .WithSummary("Server-Sent Events: every alert change as event: alert, {\"event\", \"alert\"}, with an id")
            .WithDescription("Resume with Last-Event-ID (the last 1024 changes are kept); tool_id narrows to one tool; a `: heartbeat` comment keeps an idle stream open.");
        return app;
    }

    private static AlertStream StreamAlerts(
        AlertFeed feed,
        IOptions<StreamingOptions> streaming,
        TimeProvider time,
        [FromQuery(Name = "tool_id")] string? toolId,
        [FromHeader(Name = "Last-Event-ID")] string? lastEventId) =>
        new(
            feed.Subscribe(long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var last) ? last : null),
            toolId,
            streaming.Value.HeartbeatInterval,
            time);

    private static Results<Ok<AlertList>, ProblemHttpResult> List(HttpContext context, AlertBook book)
    {
        var query = context.Request.Query;
        RequestErrors? errors = null;
        AlertState? state = null;
        if (query["state"] is { Count: > 0 } named)
        {
            state = named.Count == 1 ? named[0] switch
            {
                "firing" => AlertState.Firing,
                "acknowledged" => AlertState.Acknowledged,
                "resolved" => AlertState.Resolved,
                _ => null,
            }
            : null;
            if (state is null)
            {
                RequestErrors.Add(ref errors, "state", "state must be firing, acknowledged or resolved.");
            }
        }

        if (query["tool_id"].Count > 1)
        {
            RequestErrors.Add(ref errors, "tool_id", "tool_id may be given once.");
        }

        return errors is not null
            ? Problems.Invalid(errors, "Invalid query")
            : TypedResults.Ok(new AlertList([.. book.List(state, query["tool_id"].FirstOrDefault()).Select(AlertItem.From)]));
    }

    private static Results<Ok<AlertItem>, ProblemHttpResult> Get(long id, AlertBook book) =>
        book.Get(id) is { } alert ? TypedResults.Ok(AlertItem.From(alert)) : NotFound(id);

    private static async Task<Results<Ok<AlertItem>, ProblemHttpResult>> AcknowledgeAsync(long id, HttpContext context, AlertBook book, TimeProvider time)
    {
        var (request, bad) = await ReadAsync(context, AlertJsonContext.Default.AckRequest, "{\"by\": \"...\", \"note\": \"...\"}");
        RequestErrors? errors = bad;
        var by = Caller(context, request?.By, ref errors);
        Limit(request?.Note, "note", ref errors);
        if (errors is not null)
        {
            return Problems.Invalid(errors, "Invalid acknowledgement");
        }

        return Answer(id, book.Acknowledge(id, by!, request?.Note, time.GetUtcNow()));
    }

    private static async Task<Results<Ok<AlertItem>, ProblemHttpResult>> ShelveAsync(
        long id, HttpContext context, AlertBook book, IOptions<AlertOptions> options, TimeProvider time)
    {
        var (request, bad) = await ReadAsync(context, AlertJsonContext.Default.ShelveRequest, "{\"minutes\": 60, \"by\": \"...\", \"reason\": \"...\"}");
        RequestErrors? errors = bad;
        var by = Caller(context, request?.By, ref errors);
        var most = options.Value.MaxShelveMinutes;
        if (request?.Minutes is not { } minutes || minutes < 1 || minutes > most)
        {
            RequestErrors.Add(ref errors, "minutes", $"minutes must be a whole number within 1..{most} (Alerts:MaxShelveMinutes).");
        }

        if (string.IsNullOrWhiteSpace(request?.Reason))
        {
            RequestErrors.Add(ref errors, "reason", "reason is required: a shelved alarm is audited.");
        }

        Limit(request?.Reason, "reason", ref errors);
        if (errors is not null)
        {
            return Problems.Invalid(errors, "Invalid shelve");
        }

        return Answer(id, book.Shelve(id, TimeSpan.FromMinutes(request!.Minutes!.Value), by!, request.Reason, time.GetUtcNow()));
    }

    private static async Task<Results<Ok<ToolStateItem>, ProblemHttpResult>> SetToolStateAsync(
        string toolId, HttpContext context, AlertBook book, ResultsStoreChoice choice, TimeProvider time)
    {
        var (request, bad) = await ReadAsync(context, AlertJsonContext.Default.ToolStateRequest, "{\"state\": \"maintenance\", \"by\": \"...\", \"note\": \"...\"}");
        RequestErrors? errors = bad;
        var by = Caller(context, request?.By, ref errors);
        Limit(request?.Note, "note", ref errors);
        var state = ToolStateItem.Parse(request?.State);
        if (state is null)
        {
            RequestErrors.Add(ref errors, "state", "state must be productive, maintenance or engineering.");
        }

        if (toolId.Length > MaxTextLength)
        {
            RequestErrors.Add(ref errors, "tool_id", $"tool_id must be at most {MaxTextLength} characters.");
        }

        if (errors is not null)
        {
            return Problems.Invalid(errors, "Invalid tool state");
        }

        var view = new ToolStateView(toolId, state!.Value, time.GetUtcNow(), by!, request?.Note);
        // Kept before it is answered: an acknowledged state survives a restart.
        if (choice.Store is { } store)
        {
            await store.SaveToolStateAsync(view, context.RequestAborted);
        }

        book.SetToolState(view);
        return TypedResults.Ok(ToolStateItem.From(view));
    }

    /// <summary>The JSON body, or the problem with it.</summary>
    private static async Task<(T? Request, RequestErrors? Errors)> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type, string shape)
        where T : class
    {
        try
        {
            return (await context.Request.ReadFromJsonAsync(type, context.RequestAborted), null);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: not a JSON Content-Type.
            return (null, RequestErrors.One("$", $"Send JSON {shape}: {ex.Message}"));
        }
    }

    /// <summary>Who acts is who authenticated, never a name the body chooses; an open server takes the body's word.</summary>
    private static string? Caller(HttpContext context, string? claimed, ref RequestErrors? errors)
    {
        var by = context.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : claimed;
        if (string.IsNullOrWhiteSpace(by) || by.Length > MaxTextLength)
        {
            RequestErrors.Add(ref errors, "by", $"by must name who acts, in 1..{MaxTextLength} characters.");
        }

        return by;
    }

    private static void Limit(string? text, string field, ref RequestErrors? errors)
    {
        if (text is { Length: > MaxTextLength })
        {
            RequestErrors.Add(ref errors, field, $"{field} must be at most {MaxTextLength} characters.");
        }
    }

    private static Results<Ok<AlertItem>, ProblemHttpResult> Answer(long id, AlertBook.AckResult result) => result.Outcome switch
    {
        AlertBook.AckOutcome.Acknowledged => TypedResults.Ok(AlertItem.From(result.Alert!)),
        AlertBook.AckOutcome.NotFound => NotFound(id),
        AlertBook.AckOutcome.AlreadyAcknowledged => Conflict(id, "is acknowledged already"),
        _ => Conflict(id, "is resolved"),
    };

    private static ProblemHttpResult NotFound(long id) =>
        TypedResults.Problem($"No alert {id} is open or recently resolved.", statusCode: StatusCodes.Status404NotFound, title: "No such alert");

    private static ProblemHttpResult Conflict(long id, string why) =>
        TypedResults.Problem($"Alert {id} {why}.", statusCode: StatusCodes.Status409Conflict, title: "Alert not firing");
}
