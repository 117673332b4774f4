using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using RealTimeInference.Inference.Models;
using RealTimeInference.Server.Security;

namespace RealTimeInference.Server.Models;

/// <summary>A served model as engineers look it up: what it takes, what it gives, how good it was on held-out data.</summary>
/// <param name="Name">Model name (its folder under models/).</param>
/// <param name="Version">The version that serves (the highest found).</param>
/// <param name="Versions">Every version folder found.</param>
/// <param name="State">serving, or draining while the server shuts down.</param>
/// <param name="QueuedRows">Rows waiting for a model run now.</param>
/// <param name="Manifest">The model's model.json.</param>
internal sealed record ModelInfo(
    string Name,
    int Version,
    IReadOnlyList<int> Versions,
    string State,
    long QueuedRows,
    ModelManifest Manifest);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ModelInfo[]))]
internal sealed partial class ModelJsonContext : JsonSerializerContext;

internal static class ModelEndpoints
{
    public static IEndpointRouteBuilder MapModelEndpoints(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/models").WithTags("Models").WithApiKey(app.ServiceProvider);
        models.MapGet("/", (ModelRepository repository) =>
                TypedResults.Ok(repository.Models.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => Describe(m, repository)).ToArray()))
            .WithName("ListModels")
            .WithSummary("Every served model: version, inputs, outputs, threshold, batching, provenance, held-out metrics");
        models.MapGet("/{name}", Results<Ok<ModelInfo>, ProblemHttpResult> (string name, ModelRepository repository) =>
                repository.TryGet(name, out var model)
                    ? TypedResults.Ok(Describe(model, repository))
                    : TypedResults.Problem($"No model named '{name}' is served.", statusCode: StatusCodes.Status404NotFound, title: "Unknown model"))
            .WithName("GetModel")
            .WithSummary("One served model, as in the list");
        models.MapPost("/{name}/reload", ReloadAsync)
            .WithName("ReloadModel")
            .WithSummary("Load the model's folder again (its highest version) and swap it in while requests flow")
            .WithDescription("A model that fails to load or to match its model.json leaves the old version serving (422). Queued requests finish on the old version.");
        return app;
    }

    private static async Task<Results<Ok<ModelInfo>, ProblemHttpResult>> ReloadAsync(string name, ModelRepository repository)
    {
        var reload = await repository.ReloadAsync(name);
        if (reload.Succeeded && repository.TryGet(name, out var model))
        {
            return TypedResults.Ok(Describe(model, repository));
        }

        return reload.ServingVersion is { } serving
            ? TypedResults.Problem(
                $"{reload.Error} Version {serving} keeps serving.", statusCode: StatusCodes.Status422UnprocessableEntity, title: "Reload failed")
            : TypedResults.Problem(reload.Error, statusCode: StatusCodes.Status404NotFound, title: "No loadable model");
    }

    private static ModelInfo Describe(ServedModel model, ModelRepository repository) =>
        new(model.Name, model.Version, model.Versions, repository.IsDraining ? "draining" : "serving", model.Batcher.QueuedRows, model.Manifest);
}
