using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Models;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;

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

internal static partial class ModelEndpoints
{
    public static IServiceCollection AddModels(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ModelJsonContext.Default));

    public static IEndpointRouteBuilder MapModelEndpoints(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/models").WithTags("Models").WithRole(app.ServiceProvider, Roles.Viewer);
        models.MapGet("/", (ModelRepository repository) =>
                TypedResults.Ok(repository.Models.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => Describe(m, repository)).ToArray()))
            .WithName("ListModels")
            .WithSummary("Every served model: version, inputs, outputs, threshold, batching, provenance, held-out metrics");
        models.MapGet("/{name}", GetModel)
            .WithName("GetModel")
            .WithSummary("One served model, as in the list")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGroup("/models").WithTags("Models").WithRole(app.ServiceProvider, Roles.Engineer).MapPost("/{name}/reload", ReloadAsync)
            .WithName("ReloadModel")
            .WithSummary("Load a served model's folder again (its highest version) and swap it in while requests flow")
            .WithDescription("A model that fails to load or to match its model.json leaves the old version serving (422). Queued requests finish on the old version. Takes the engineer role when roles are configured; on an open server, only requests from the server's own machine may reload (403).")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        return app;
    }

    private static Results<Ok<ModelInfo>, ProblemHttpResult> GetModel(string name, ModelRepository repository) =>
        Find(name, repository, out var model) is { } problem ? problem : TypedResults.Ok(Describe(model!, repository));

    private static async Task<Results<Ok<ModelInfo>, ProblemHttpResult>> ReloadAsync(
        string name, HttpContext context, ModelRepository repository, IOptions<SecurityOptions> security)
    {
        if (!MayChangeModels(context, security.Value))
        {
            return TypedResults.Problem(
                "On an open server (no Security:ApiKeys or Security:Jwt), models reload only from the server's own machine; configure roles to reload from elsewhere.",
                statusCode: StatusCodes.Status403Forbidden,
                title: "Reload not allowed");
        }

        // Only a served model reloads: a made-up name never reaches the file system or a metric label.
        if (Find(name, repository, out _) is { } problem)
        {
            return problem;
        }

        var reload = await repository.ReloadAsync(name);
        if (reload.Succeeded && repository.TryGet(name, out var model))
        {
            return TypedResults.Ok(Describe(model, repository));
        }

        return TypedResults.Problem(
            $"{reload.Error} Version {reload.ServingVersion} keeps serving.", statusCode: StatusCodes.Status422UnprocessableEntity, title: "Reload failed");
    }

    /// <summary>With roles, changing what serves takes the engineer role (the group's policy); on an open server, only this machine may reload, load or unload.</summary>
    public static bool MayChangeModels(HttpContext context, SecurityOptions security) =>
        !security.IsOpen || context.Connection.RemoteIpAddress is not { } remote || IPAddress.IsLoopback(remote);

    /// <summary>Null when <paramref name="name"/> is a served model's; otherwise the problem: 400 for a name no model folder may have, 404 for one not served.</summary>
    private static ProblemHttpResult? Find(string name, ModelRepository repository, out ServedModel? model)
    {
        model = null;
        if (!ModelName().IsMatch(name) || name is "." or "..")
        {
            return Problems.Invalid(
                RequestErrors.One("name", "A model name is 1 to 64 lower-case letters, digits, '.', '_' or '-' (and not '.' or '..')."), "Invalid model name");
        }

        return repository.TryGet(name, out model)
            ? null
            : TypedResults.Problem($"No model named '{name}' is served.", statusCode: StatusCodes.Status404NotFound, title: "Unknown model");
    }

    private static ModelInfo Describe(ServedModel model, ModelRepository repository) =>
        new(model.Name, model.Version, model.Versions, repository.IsDraining ? "draining" : "serving", model.Batcher.QueuedRows, model.Manifest);

    [GeneratedRegex("^[a-z0-9._-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex ModelName();
}
