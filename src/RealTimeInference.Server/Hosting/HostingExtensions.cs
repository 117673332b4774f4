using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using RealTimeInference.Server.Health;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;
using Serilog;
using Serilog.Events;

namespace RealTimeInference.Server.Hosting;

internal static class HostingExtensions
{
    public const string DefaultUrl = "http://localhost:8000";

    /// <summary>Port 8000 unless told otherwise, Kestrel limits, snake_case JSON, RFC 9457 problems, health checks.</summary>
    public static WebApplicationBuilder AddServerDefaults(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Services.AddServerLimits();
        // Each feature adds its own source-generated JSON context.
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        builder.Services.AddProblemDetails();
        builder.Services.AddHealth();
        builder.Services.AddSecurity();
        return builder;
    }

    public static IServiceCollection AddApiDocs(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "RealTimeInference",
                Version = "v1",
                Description = "Real-time ML inference for semiconductor fabs: sensor anomaly scores with measured latency.",
            });
            // Scores are serialized straight from pooled buffers; on the wire they are a plain array.
            swagger.MapType<ReadOnlyMemory<float>>(() => new OpenApiSchema
            {
                Type = JsonSchemaType.Array,
                Items = new OpenApiSchema { Type = JsonSchemaType.Number, Format = "float" },
            });
            var xml = Path.Combine(AppContext.BaseDirectory, "RealTimeInference.Server.xml");
            if (File.Exists(xml))
            {
                swagger.IncludeXmlComments(xml);
            }
        });
        return services;
    }

    /// <summary>Errors as ProblemDetails, one log line per request, rate limits, WebSockets, static pages, Swagger UI at /swagger.</summary>
    public static WebApplication UseServerDefaults(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // One summary log event per request.
        app.UseSerilogRequestLogging(logging => logging.GetLevel = (context, _, exception) =>
            // Backpressure (503, 429) is an expected answer, counted in /metrics: under overload,
            // an error event per refused request would only add load.
            exception is not null || (context.Response.StatusCode >= 500 && context.Response.StatusCode != StatusCodes.Status503ServiceUnavailable)
                ? LogEventLevel.Error
                : LogEventLevel.Information);
        app.UseRequestFraming();
        // Who the client is, then what it may do, then how fast: the rate limiter partitions by the authenticated key.
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        var sockets = app.Services.GetRequiredService<IOptions<SocketOptions>>().Value;
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = sockets.KeepAliveInterval, KeepAliveTimeout = sockets.KeepAliveTimeout });
        // The live page (index.html at /) and the inspection page from wwwroot.
        app.UseDefaultFiles();
        app.UseStaticFiles();
        if (app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value.ExposeSwagger)
        {
            app.UseSwagger();
            app.UseSwaggerUI();
        }
        return app;
    }
}
