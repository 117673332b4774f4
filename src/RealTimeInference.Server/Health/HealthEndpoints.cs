using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Polly.CircuitBreaker;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Resilience;

namespace RealTimeInference.Server.Health;

/// <summary>
/// Ready when the models are loaded and the server is not draining; degraded (still ready: the
/// fallbacks answer) while a model's circuit breaker is open.
/// </summary>
internal sealed class ModelsReadyCheck(ModelRepository repository, ModelBreakers breakers) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var states = repository.Models.ToDictionary(m => m.Name, m => breakers.StateOf(m.Name));
        var models = repository.Models.ToDictionary(
            m => m.Name,
            m => (object)$"v{m.Version}, {m.Batcher.QueuedRows} rows queued, breaker {Name(states[m.Name])}");
        var broken = states.Where(s => s.Value is CircuitState.Open or CircuitState.Isolated).Select(s => s.Key).ToArray();
        var result = repository.IsDraining ? HealthCheckResult.Unhealthy("Draining: shutting down.", data: models)
            : !repository.IsReady ? HealthCheckResult.Unhealthy("No model is loaded.", data: models)
            : broken.Length > 0 ? HealthCheckResult.Degraded($"Circuit breaker open: {string.Join(", ", broken)}; fallbacks answer.", data: models)
            : HealthCheckResult.Healthy($"{models.Count} model(s) serving.", models);
        return Task.FromResult(result);
    }

    private static string Name(CircuitState state) => state switch
    {
        CircuitState.Closed => "closed",
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half-open",
        _ => "isolated",
    };
}

internal static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<ModelsReadyCheck>("models", tags: [ReadyTag]);
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, HealthJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Health");
        // Liveness checks nothing but that the process answers: a dependency's outage must not restart it.
        health.MapGet("/live", () => TypedResults.Ok(new HealthResponse("Healthy", [])))
            .WithName("Live")
            .WithSummary("Liveness: the process is up");
        health.MapGet("/ready", ReadyAsync)
            .WithName("Ready")
            .WithSummary("Readiness: models loaded and not draining (503 otherwise); Degraded, still 200, while a circuit breaker is open")
            .Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>>> ReadyAsync(
        HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(c => c.Tags.Contains(ReadyTag), cancellationToken);
        var body = new HealthResponse(
            report.Status.ToString(),
            report.Entries.ToDictionary(
                e => e.Key,
                e => new HealthEntry(
                    e.Value.Status.ToString(),
                    e.Value.Description,
                    e.Value.Data.ToDictionary(d => d.Key, d => d.Value?.ToString()))));
        return report.Status != HealthStatus.Unhealthy
            ? TypedResults.Ok(body)
            : TypedResults.Json(body, HealthJsonContext.Default.HealthResponse, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}

internal sealed record HealthEntry(string Status, string? Description, Dictionary<string, string?> Data);

internal sealed record HealthResponse(string Status, Dictionary<string, HealthEntry> Checks);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(HealthResponse))]
internal sealed partial class HealthJsonContext : JsonSerializerContext;
