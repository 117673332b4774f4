using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;
using RealTimeInference.Server.Yield;

namespace RealTimeInference.Server.Optimizer;

/// <summary><c>/optimizer</c>: the process optimizer's state, mode, recommendations and decisions.</summary>
internal static class OptimizerEndpoints
{
    private const int MaxDecisions = 1000;

    public static IServiceCollection AddOptimizer(this IServiceCollection services)
    {
        services.AddOptions<OptimizerOptions>().BindConfiguration(OptimizerOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OptimizerOptions>, OptimizerOptionsValidator>();
        services.AddSingleton<OptimizerMetrics>();
        services.AddSingleton<DecisionLog>();
        services.AddHostedService(sp => sp.GetRequiredService<DecisionLog>());
        services.AddSingleton<ProcessOptimizer>();
        services.AddHostedService<OptimizerService>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, OptimizerJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapOptimizerEndpoints(this IEndpointRouteBuilder app)
    {
        // Rate-limited as the predict endpoints: recommend runs the model.
        var group = app.MapGroup("/optimizer").WithTags("Optimizer").WithClientRateLimit(app.ServiceProvider);
        var read = group.MapGroup("").WithRole(app.ServiceProvider, Roles.Viewer);
        var steer = group.MapGroup("").WithRole(app.ServiceProvider, Roles.Engineer);
        read.MapGet("", Get)
            .WithName("GetOptimizer")
            .WithSummary("The optimizer's mode and, per tool, its setpoints, safe ranges, last decision, waiting recommendation and predicted vs measured yield");
        steer.MapPut("/mode", SetModeAsync)
            .WithName("SetOptimizerMode")
            .WithSummary("Sets the mode: {\"mode\": \"off\" | \"advisory\" | \"closed-loop\"}")
            .Accepts<ModeRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        read.MapGet("/tools/{tool_id}/history", History)
            .WithName("GetOptimizerToolHistory")
            .WithSummary("A tool's measured lots and recent decisions, oldest first: what the dashboard draws")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGroup("").WithRole(app.ServiceProvider, Roles.Operator).MapPost("/tools/{tool_id}/recommend", RecommendAsync)
            .WithName("RecommendSetpoints")
            .WithSummary("Decides for a tool now and answers the decision; a recommendation then waits for apply, in every mode")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        steer.MapPost("/tools/{tool_id}/apply", ApplyAsync)
            .WithName("ApplyRecommendation")
            .WithSummary("Applies the tool's waiting recommendation (inside the safe ranges by construction); 409 when none waits")
            .WithDescription("With ?decision_id=..., only the setpoints that decision recommended: 409 when a later cycle recommends others or none, so what was approved is what runs.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        read.MapGet("/decisions", DecisionsAsync)
            .WithName("GetOptimizerDecisions")
            .WithSummary("Stored decisions, newest first (tool_id, limit up to 1000); empty with no results store")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    private static Ok<OptimizerView> Get(ProcessOptimizer optimizer)
    {
        var fab = optimizer.Fab;
        var limits = LimitsView.From(optimizer.Limits);
        var tools = Enumerable.Range(0, fab.ToolCount).Select(tool =>
        {
            var state = fab.State(tool);
            var (last, pending, _) = optimizer.View(tool);
            return new ToolView(
                fab.ToolId(tool),
                SetpointValues.From(state.Setpoints),
                state.ChamberAge,
                limits,
                // Applied: the recipe now is the one the best forecast was for.
                last?.Action == Actions.Applied ? last.PredictedBest : last?.PredictedCurrent,
                fab.LastMeasured(tool)?.Yield,
                last is null ? null : DecisionView.From(last),
                pending is null ? null : DecisionView.From(pending));
        }).ToList();
        var options = optimizer.Options;
        return TypedResults.Ok(new OptimizerView(
            optimizer.Mode.Name(), options.Interval.TotalSeconds, options.MinGain, optimizer.LastCycle?.TotalMilliseconds, optimizer.Decisions.Storing, tools));
    }

    private static async Task<Results<Ok<ModeResponse>, ProblemHttpResult>> SetModeAsync(HttpContext context, ProcessOptimizer optimizer)
    {
        ModeRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync(OptimizerJsonContext.Default.ModeRequest, context.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return Problems.Invalid(RequestErrors.One("$", $"Send JSON {{\"mode\": \"advisory\"}}: {ex.Message}"), "Invalid mode");
        }

        if (!OptimizerModes.TryParse(request?.Mode, out var mode))
        {
            return Problems.Invalid(RequestErrors.One("mode", $"mode must be one of {string.Join(", ", OptimizerModes.Names)}."), "Invalid mode");
        }

        optimizer.SetMode(mode, ClientIdentity.Of(context));
        return TypedResults.Ok(new ModeResponse(mode.Name()));
    }

    private static Results<Ok<ToolHistory>, ProblemHttpResult> History([FromRoute(Name = "tool_id")] string toolId, ProcessOptimizer optimizer)
    {
        var tool = optimizer.Fab.Find(toolId);
        if (tool < 0)
        {
            return UnknownTool(toolId);
        }

        var (_, _, decisions) = optimizer.View(tool);
        return TypedResults.Ok(new ToolHistory(
            toolId, [.. optimizer.Fab.Measured(tool).Select(LotView.From)], [.. decisions.Select(DecisionView.From)]));
    }

    private static async Task<Results<Ok<DecisionView>, ProblemHttpResult>> RecommendAsync(
        [FromRoute(Name = "tool_id")] string toolId, HttpContext context, ProcessOptimizer optimizer, IOptions<YieldOptions> yieldOptions)
    {
        var tool = optimizer.Fab.Find(toolId);
        if (tool < 0)
        {
            return UnknownTool(toolId);
        }

        var (decision, score) = await optimizer.DecideAsync(tool, automatic: false, context.RequestAborted);
        return decision.Action == Actions.Skipped
            ? Problems.For(context, score.Outcome, score.RetryAfter, yieldOptions.Value.RetryAfterSeconds, optimizer.ScoringModel, score.Error)
            : TypedResults.Ok(DecisionView.From(decision));
    }

    private static async Task<Results<Ok<DecisionView>, ProblemHttpResult>> ApplyAsync(
        [FromRoute(Name = "tool_id")] string toolId, [FromQuery(Name = "decision_id")] string? decisionId, HttpContext context, ProcessOptimizer optimizer)
    {
        var tool = optimizer.Fab.Find(toolId);
        if (tool < 0)
        {
            return UnknownTool(toolId);
        }

        return await optimizer.ApplyAsync(tool, ClientIdentity.Of(context), decisionId, context.RequestAborted) is { } applied
            ? TypedResults.Ok(DecisionView.From(applied))
            : TypedResults.Problem(
                decisionId is null
                    ? $"No recommendation waits for {toolId}: ask for one with POST /optimizer/tools/{toolId}/recommend."
                    : $"The setpoints of recommendation {decisionId} no longer wait for {toolId}: a later decision recommends others, or none.",
                statusCode: StatusCodes.Status409Conflict,
                title: "Nothing to apply");
    }

    private static async Task<Results<Ok<DecisionList>, ProblemHttpResult>> DecisionsAsync(HttpContext context, ProcessOptimizer optimizer)
    {
        var query = context.Request.Query;
        RequestErrors? errors = null;
        var limit = 100;
        if (query["limit"] is { Count: > 0 } text
            && (text.Count > 1 || !int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxDecisions))
        {
            RequestErrors.Add(ref errors, "limit", $"limit must be an integer within 1..{MaxDecisions}.");
        }

        if (query["tool_id"].Count > 1)
        {
            RequestErrors.Add(ref errors, "tool_id", "tool_id may be given once.");
        }

        if (errors is not null)
        {
            return Problems.Invalid(errors, "Invalid query");
        }

        var found = await optimizer.Decisions.QueryAsync(new DecisionQuery(query["tool_id"].FirstOrDefault(), limit), context.RequestAborted);
        return TypedResults.Ok(new DecisionList([.. found.Select(DecisionView.From)]));
    }

    private static ProblemHttpResult UnknownTool(string toolId) =>
        TypedResults.Problem($"No simulated tool is called '{toolId}'.", statusCode: StatusCodes.Status404NotFound, title: "No such tool");
}
