using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using RealTimeInference.Results;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Streaming;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Alerts;

/// <summary><c>GET /alerts</c>, <c>GET /alerts/{id}</c> and <c>POST /alerts/{id}/ack</c> over the alert rules' book.</summary>
internal static class AlertEndpoints
{
    public const int MaxTextLength = 1000;

    /// <summary>The alert rules fed by every sensor prediction (kept in the results store when there is one).</summary>
    public static IServiceCollection AddAlertRules(this IServiceCollection services)
    {
        services.AddAlerts();
        services.AddSingleton<IPredictionSink, AlertSink>();
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
        AckRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync(AlertJsonContext.Default.AckRequest, context.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: not a JSON Content-Type.
            return Problems.Invalid(RequestErrors.One("$", $"Send JSON {{\"by\": \"...\", \"note\": \"...\"}}: {ex.Message}"), "Invalid acknowledgement");
        }

        // Who acknowledged is who authenticated, never a name the body chooses; an open server takes the body's word.
        var by = context.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : request?.By;
        RequestErrors? errors = null;
        if (string.IsNullOrWhiteSpace(by) || by.Length > MaxTextLength)
        {
            RequestErrors.Add(ref errors, "by", $"by must name who acknowledges, in 1..{MaxTextLength} characters.");
        }

        if (request?.Note is { Length: > MaxTextLength })
        {
            RequestErrors.Add(ref errors, "note", $"note must be at most {MaxTextLength} characters.");
        }

        if (errors is not null)
        {
            return Problems.Invalid(errors, "Invalid acknowledgement");
        }

        var result = book.Acknowledge(id, by!, request?.Note, time.GetUtcNow());
        return result.Outcome switch
        {
            AlertBook.AckOutcome.Acknowledged => TypedResults.Ok(AlertItem.From(result.Alert!)),
            AlertBook.AckOutcome.NotFound => NotFound(id),
            AlertBook.AckOutcome.AlreadyAcknowledged => Conflict(id, "is acknowledged already"),
            _ => Conflict(id, "is resolved"),
        };
    }

    private static ProblemHttpResult NotFound(long id) =>
        TypedResults.Problem($"No alert {id} is open or recently resolved.", statusCode: StatusCodes.Status404NotFound, title: "No such alert");

    private static ProblemHttpResult Conflict(long id, string why) =>
        TypedResults.Problem($"Alert {id} {why}.", statusCode: StatusCodes.Status409Conflict, title: "Alert not firing");
}
