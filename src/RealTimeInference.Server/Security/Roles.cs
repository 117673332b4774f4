using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Security;

/// <summary>
/// Who may do what, by role: <see cref="Viewer"/> reads, <see cref="Operator"/> acknowledges and asks
/// for recommendations, <see cref="Engineer"/> changes the process and the models, <see cref="Ingest"/>
/// sends readings and images. Each role is an authorization policy of the same name, set once on each
/// route group; an engineer may do everything, an operator what a viewer may.
/// </summary>
internal static class Roles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Engineer = "engineer";
    public const string Ingest = "ingest";

    public static IReadOnlyList<string> All { get; } = [Viewer, Operator, Engineer, Ingest];

    /// <summary>The roles that hold the rights of <paramref name="policy"/>.</summary>
    public static string[] Holding(string policy) => policy switch
    {
        Viewer => [Viewer, Operator, Engineer],
        Operator => [Operator, Engineer],
        Ingest => [Ingest, Engineer],
        _ => [Engineer],
    };

    /// <summary>
    /// Asks for <paramref name="role"/> on the group's endpoints when keys or tokens are configured; an
    /// open server's endpoints pay nothing for it. <paramref name="protect"/> false: the group is public.
    /// </summary>
    public static TBuilder WithRole<TBuilder>(this TBuilder builder, IServiceProvider services, string role, bool protect = true)
        where TBuilder : IEndpointConventionBuilder =>
        protect && !services.GetRequiredService<IOptions<SecurityOptions>>().Value.IsOpen ? builder.RequireAuthorization(role) : builder;

    /// <summary>The same for a gRPC service, per method: <paramref name="roleOf"/> a method's name gives its role (null: public).</summary>
    public static GrpcServiceEndpointConventionBuilder WithRoles(
        this GrpcServiceEndpointConventionBuilder builder, IServiceProvider services, Func<string, string?> roleOf)
    {
        if (!services.GetRequiredService<IOptions<SecurityOptions>>().Value.IsOpen)
        {
            builder.Add(endpoint =>
            {
                if (endpoint.Metadata.OfType<GrpcMethodMetadata>().FirstOrDefault() is { } method && roleOf(method.Method.Name) is { } role)
                {
                    endpoint.Metadata.Add(new AuthorizeAttribute(role));
                }
            });
        }

        return builder;
    }
}
