using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Server.Health;

/// <summary>Ready when the models are loaded and the server is not draining.</summary>
internal sealed class ModelsReadyCheck(ModelRepository repository) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var models = repository.Models.ToDictionary(m => m.Name, m => (object)$"v{m.Version}, {m.Batcher.QueuedRows} rows queued");
        var result = repository.IsDraining ? HealthCheckResult.Unhealthy("Draining: shutting down.", data: models)
            : repository.IsReady ? HealthCheckResult.Healthy($"{models.Count} model(s) serving.", models)
            : HealthCheckResult.Unhealthy("No model is loaded.", data: models);
        return Task.FromResult(result);
    }
}

internal static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<ModelsReadyCheck>("models", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        // Liveness checks nothing but that the process answers: a dependency's outage must not restart it.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .WithTags("Health");
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync })
            .WithTags("Health");
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new HealthResponse(
            report.Status.ToString(),
            report.Entries.ToDictionary(
                e => e.Key,
                e => new HealthEntry(
                    e.Value.Status.ToString(),
                    e.Value.Description,
                    e.Value.Data.ToDictionary(d => d.Key, d => d.Value?.ToString()))));
        return JsonSerializer.SerializeAsync(context.Response.Body, body, HealthJsonContext.Default.HealthResponse);
    }
}

internal sealed record HealthEntry(string Status, string? Description, Dictionary<string, string?> Data);

internal sealed record HealthResponse(string Status, Dictionary<string, HealthEntry> Checks);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(HealthResponse))]
internal sealed partial class HealthJsonContext : JsonSerializerContext;
